"""The file and folder questions the project commands ask (replaceable: tests answer them)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

IMAGE_FILTER = "Images (*.tif *.tiff *.btf *.czi *.png *.jpg *.jpeg);;All files (*)"
BUNDLE_FILTER = "Zip files (*.zip)"
MODEL_FILTER = "Models: unet_studio (*.pt) or bioimage.io packages (*.zip) (*.pt *.zip)"


class ProjectDialogs:
    """Each method returns the user's answer, or None when cancelled."""

    def __init__(self, parent):
        self.parent = parent

    def new_project_folder(self, start: Path) -> str | None:
        """A folder to create for a new project (it must not exist or be empty)."""
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "New project: choose a name and a place", str(start / "my-project"),
            "Project folder (*)", options=QFileDialog.Option.DontConfirmOverwrite)
        return path or None

    def save_as_folder(self, start: Path) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            self.parent, "Save the project as (a new folder)", str(start),
            "Project folder (*)", options=QFileDialog.Option.DontConfirmOverwrite)
        return path or None

    def project_folder(self, start: Path) -> str | None:
        path = QFileDialog.getExistingDirectory(self.parent, "Open a project folder", str(start))
        return path or None

    def image_files(self, start: Path) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(self.parent, "Add images to the project", str(start),
                                                IMAGE_FILTER)
        return list(paths)

    def locate(self, name: str, start: Path) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, f"Where is {name} now?", str(start / name),
                                              IMAGE_FILTER)
        return path or None

    def output_folder(self, start: Path) -> str | None:
        path = QFileDialog.getExistingDirectory(self.parent, "Save the masks of every image in…", str(start))
        return path or None

    def model_file(self, start: Path) -> str | None:
        # The project of an image opened on its own is made at the first stroke: until then, ask
        # from its image's folder (a missing folder would be offered as the file's name).
        folder = next((f for f in (Path(start), *Path(start).parents) if f.is_dir()), Path.home())
        path, _ = QFileDialog.getOpenFileName(self.parent, "Start from a model file", str(folder), MODEL_FILTER)
        return path or None

    def bundle_path(self, suggested: Path) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export reproducibility bundle",
                                              str(suggested), BUNDLE_FILTER)
        return path or None


def warn(parent, title: str, text: str) -> None:
    """A warning that is not a failure of the last action (e.g. images that went missing)."""
    QMessageBox.warning(parent, title, text)
