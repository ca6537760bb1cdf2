"""The files written for one image (mask, probabilities, instances) replace the old ones as a set.

A "file" may be a folder (an OME-Zarr image): it is swapped in whole the same way.

Each file is written to a temporary file beside its target. When all are complete, a marker
file lists the (temporary, target) pairs; then the old targets are removed and each temporary
file is renamed onto its target, in that order, and the marker goes. A kill in between never
leaves a new file beside an old one of the same set: it leaves some new files and the marker,
and the next run in that folder (`recover`) finishes the renames. Temporary files of a run
that died before its marker are removed by the next run too.

Our temporary names carry the writing process's id (`.<target>.<pid>-<random>.tmp`), so a
run never removes the files of another run still writing into the same folder.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from pathlib import Path

from unet_studio.core.atomic import TEMP_ENDING, atomic_write_bytes, fsync_folder

# Our temporary files, the markers, and a marker's own temporary file (written by atomic_write_bytes).
_TEMP = re.compile(rf"^\..+\.(\d+)-[0-9a-f]{{8}}(\.[a-z]+)*\.tmp({TEMP_ENDING})?$")
_MARKER_ENDING = ".set.tmp"


class OutputSet:
    """Temporary files for `targets` (what -> final path, all in one folder); `commit()` puts
    them in place as a set, `discard()` removes them."""

    def __init__(self, targets: dict[str, Path]):
        self.targets = {what: Path(path) for what, path in targets.items()}
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.temps = {what: path.with_name(f".{path.name}.{token}.tmp")
                      for what, path in self.targets.items()}
        first = next(iter(self.targets.values()))
        self._marker = first.with_name(f".{first.name}.{token}{_MARKER_ENDING}")

    def commit(self) -> list[Path]:
        """Flush every temporary file, then swap the set in; returns the written paths."""
        for tmp in self.temps.values():
            _fsync(tmp)
        pairs = [[self.temps[w].name, self.targets[w].name] for w in self.targets]
        atomic_write_bytes(self._marker, json.dumps(pairs).encode())
        _finish(self._marker.parent, pairs)
        self._marker.unlink()
        fsync_folder(self._marker.parent)
        return list(self.targets.values())

    def discard(self) -> None:
        for tmp in self.temps.values():
            _remove(tmp)


def recover(folder: str | Path) -> None:
    """Finish the sets a killed run left half swapped in `folder`, and remove the temporary
    files of runs that died before their set was complete. Files of live runs are left."""
    folder = Path(folder)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        match = _TEMP.match(name)
        if not match or _alive(int(match.group(1))) or not name.endswith(_MARKER_ENDING):
            continue
        marker = folder / name
        try:
            pairs = json.loads(marker.read_text())
            _finish(folder, [(str(a), str(b)) for a, b in pairs])
        except (OSError, ValueError, TypeError):
            pass  # a damaged marker: its temporary files go below, the targets stay
        marker.unlink(missing_ok=True)
    for name in os.listdir(folder):
        match = _TEMP.match(name)
        if match and not _alive(int(match.group(1))):
            _remove(folder / name)


def _finish(folder: Path, pairs) -> None:
    """Remove the old targets whose new file is still waiting, then rename each one in."""
    waiting = [(folder / tmp, folder / target) for tmp, target in pairs if (folder / tmp).exists()]
    for _, target in waiting:
        _remove(target)
    for tmp, target in waiting:
        os.replace(tmp, target)


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # (os.kill(pid, 0) would end the process on Windows: nothing is cleaned there)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: not ours to judge
    return True


def _fsync(path: Path) -> None:
    """Flush a file, or every file and folder of a folder, to the disk."""
    if path.is_dir():
        for root, _, files in os.walk(path):
            for name in files:
                _fsync(Path(root) / name)
            fsync_folder(Path(root))
        return
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _remove(path: Path) -> None:
    """Remove a file or a folder (an OME-Zarr image) if it is there; never a symlink's target."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
