"""Model > Export for bioimage.io: what the package says about the model (name, authors,
licence, description), asked in one small form before the save dialog."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QPlainTextEdit

from unet_studio.workflow.bioimageio import default_name


@dataclass(frozen=True)
class PackageDetails:
    """The user's answers: `authors` split at commas, `description` None when left empty."""
    name: str
    authors: list[str]
    license: str
    description: str | None


class PackageDetailsDialog(QDialog):
    """Name (from the image's name), authors (required), SPDX licence, an optional description."""

    def __init__(self, image_name: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export for bioimage.io")
        self.name = QLineEdit(default_name(image_name))
        self.authors = QLineEdit()
        self.authors.setPlaceholderText("Your name, a colleague's name")
        self.license = QLineEdit("CC-BY-4.0")
        self.license.setToolTip("An SPDX licence identifier, e.g. CC-BY-4.0, MIT")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("One or two sentences: what it segments, in which images")
        self.description.setMaximumHeight(70)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Authors", self.authors)
        form.addRow("Licence", self.license)
        form.addRow("Description", self.description)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.authors.textChanged.connect(self._check)
        self.name.textChanged.connect(self._check)
        self._check()

    def details(self) -> PackageDetails:
        authors = [a.strip() for a in self.authors.text().split(",") if a.strip()]
        description = self.description.toPlainText().strip() or None
        return PackageDetails(self.name.text().strip(), authors, self.license.text().strip(), description)

    def _check(self) -> None:
        details = self.details()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(details.name and details.authors))


def ask_package_details(image_name: str, parent=None) -> PackageDetails | None:
    dialog = PackageDetailsDialog(image_name, parent)
    return dialog.details() if dialog.exec() == QDialog.DialogCode.Accepted else None
