"""docs/architecture.md names every module of unet_studio/, and no module that is gone."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "unet_studio"
DOC = ROOT / "docs" / "architecture.md"
SKIPPED = {"__init__.py", "__main__.py"}
# A path in the doc: optional folders, then a module name ending in .py, not part of a longer
# path (so `tests/ml/x.py` or `resources/x.py` do not count as `ml/x.py`).
MODULE_PATH = re.compile(r"(?<![\w/.-])((?:[a-z_][a-z0-9_]*/)*[a-z_][a-z0-9_]*\.py)\b")


def modules() -> set[str]:
    """Every module by its path relative to unet_studio/, e.g. `gui/window/wiring.py`."""
    return {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name not in SKIPPED}


def known_folders() -> set[str]:
    """The package's folders relative to unet_studio/ ('' for the package itself)."""
    return {p.parent.relative_to(PACKAGE).as_posix().replace(".", "")
            for p in PACKAGE.rglob("__init__.py")}


def named_in_doc() -> set[str]:
    return set(MODULE_PATH.findall(DOC.read_text(encoding="utf-8")))


def test_every_module_is_named_in_the_architecture_doc():
    missing = sorted(modules() - named_in_doc())
    assert not missing, "docs/architecture.md does not name: " + ", ".join(missing)


def test_every_module_the_doc_names_exists():
    folders = known_folders() - {""}
    named = {path for path in named_in_doc()
             if "/" in path and path.rsplit("/", 1)[0] in folders}
    named |= {path for path in named_in_doc() if "/" not in path and path.startswith("cli")}
    existing = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    gone = sorted(named - existing)
    assert not gone, "docs/architecture.md names modules that do not exist: " + ", ".join(gone)


def test_the_doc_names_paths_under_the_package_folders():
    # Guards the two tests above against a pattern that matches nothing.
    named = named_in_doc()
    assert {"core/stack.py", "ml/train.py", "workflow/export.py", "cli.py"} <= named
