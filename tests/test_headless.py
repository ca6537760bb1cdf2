"""core and ml work on a machine without Qt (a server, a cluster node, a CI box).

Every module of unet_studio.core and unet_studio.ml is imported in a fresh interpreter where
importing PySide6, pyqtgraph or superqt fails, as it would if they were not installed.
The import-linter contract in pyproject.toml checks the same rule statically, including
imports inside functions that this run does not execute.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BLOCK_QT_AND_IMPORT_ALL = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy", "PyQt5", "PyQt6")

class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: core and ml must work without Qt")
        return None

sys.meta_path.insert(0, NoQt())
imported = []
for package_name in ("unet_studio.core", "unet_studio.ml", "unet_studio.workflow"):
    package = importlib.import_module(package_name)
    imported.append(package_name)
    for module in pkgutil.walk_packages(package.__path__, package_name + "."):
        importlib.import_module(module.name)
        imported.append(module.name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print("\n".join(imported))
"""


def test_core_and_ml_import_without_qt():
    result = subprocess.run([sys.executable, "-c", BLOCK_QT_AND_IMPORT_ALL],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    imported = set(result.stdout.split())
    # The walk really happened: the modules everything else stands on were among them.
    assert {"unet_studio.core.stack", "unet_studio.core.tiff_writer", "unet_studio.core.atomic",
            "unet_studio.core.errors", "unet_studio.workflow.export"} <= imported


def test_import_linter_contract_holds():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    command = [str(lint_imports)] if lint_imports.exists() else [shutil.which("lint-imports")]
    assert command[0], "lint-imports (import-linter) is not installed"
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
