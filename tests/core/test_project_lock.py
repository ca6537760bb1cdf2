"""One unet_studio at a time changes a project: a second opens it read-only, a crashed holder
holds nothing, and letting it go frees it."""
from __future__ import annotations

import errno
import gc
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from tests.another_window import got_it, start_claiming, stop, window_holding
from unet_studio.core import project_lock
from unet_studio.core.errors import ProjectError
from unet_studio.core.project import Project


@pytest.fixture
def project_folder(tmp_path):
    image = tmp_path / "a.tif"
    tifffile.imwrite(image, np.zeros((16, 16), np.uint8))
    project = Project.create(tmp_path / "proj")
    project.labels_for(project.add_image(image)).paint_disc(0, 0, 4, 4, 2, 1)
    project.save()
    project.close()
    return tmp_path / "proj"


def left_behind(folder, pid: int, host: str | None = None) -> None:
    """The lock file as a holder writes it, with no process holding its lock (one that crashed)."""
    (folder / project_lock.LOCK_FILE).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname()}))


def held_here(folder) -> bool:
    return json.loads((folder / project_lock.LOCK_FILE).read_text())["pid"] == os.getpid()


def test_a_project_another_window_holds_opens_read_only_and_saves_nothing(project_folder, tmp_path):
    with window_holding(project_folder) as other:
        before = (project_folder / "project.json").read_bytes()
        project = Project.open(project_folder)
        labels_file = project_folder / project.images[0].labels
        strokes = labels_file.read_bytes()
        assert project.read_only and f"process {other.pid}" in project.open_elsewhere
        assert any("open in another unet_studio window" in p for p in project.problems)
        labels = project.labels_for(project.images[0])
        labels.paint_disc(0, 0, 8, 8, 3, 2)
        with pytest.raises(ProjectError, match="open in another unet_studio window"):
            project.save()
        with pytest.raises(ProjectError, match="open in another"):
            project.save_labels(labels)
        assert (project_folder / "project.json").read_bytes() == before   # the other window's files stand
        assert labels_file.read_bytes() == strokes
        project.save_as(tmp_path / "copy")                                 # Save As keeps the changes
        assert not project.read_only and project.open_elsewhere is None
        project.save()
        assert Project.open(tmp_path / "copy").labels_for(project.images[0]).data.max() == 2
        assert json.loads((project_folder / project_lock.LOCK_FILE).read_text())["pid"] == other.pid


def test_a_window_that_crashed_holds_nothing(project_folder):
    with window_holding(project_folder) as other:
        other.kill()                               # no chance to let go
        other.wait()
        project = Project.open(project_folder)
    assert not project.read_only and project.open_elsewhere is None and held_here(project_folder)
    project.save()


def test_a_crashed_window_s_process_number_taken_by_another_program_holds_nothing(project_folder):
    """After a restart, the number in a left-behind file may be some other running program's."""
    other_program = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        left_behind(project_folder, other_program.pid)
        project = Project.open(project_folder)
        assert not project.read_only and project.open_elsewhere is None and held_here(project_folder)
    finally:
        other_program.kill()
        other_program.wait()


def test_windows_opening_a_project_at_the_same_instant_do_not_both_get_it(project_folder, tmp_path):
    start = tmp_path / "go"
    windows = [start_claiming(project_folder, start) for _ in range(4)]
    try:
        start.touch()
        assert sum(got_it(window) for window in windows) == 1
    finally:
        for window in windows:
            stop(window)


def test_closing_lets_the_project_go_and_a_new_project_is_held_once_written(project_folder, tmp_path):
    project = Project.open(project_folder)
    assert (project_folder / project_lock.LOCK_FILE).is_file()
    project.close()
    assert not (project_folder / project_lock.LOCK_FILE).exists()
    with window_holding(project_folder):       # another window gets it now
        pass
    new = Project(tmp_path / "new")
    assert not (tmp_path / "new").exists()     # nothing written, nothing held
    new.ensure_created()
    assert held_here(tmp_path / "new")
    other = start_claiming(tmp_path / "new")
    try:
        assert not got_it(other)
    finally:
        stop(other)


def test_a_new_project_another_window_wrote_first_is_left_to_it(tmp_path):
    """Two windows started on one image at once: the second's first stroke must not overwrite
    the project the first has just written."""
    image = tmp_path / "a.tif"
    tifffile.imwrite(image, np.zeros((16, 16), np.uint8))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((16, 16), np.uint8))
    mine = Project(tmp_path / "proj")
    theirs = Project.create(tmp_path / "proj")
    theirs.add_image(tmp_path / "b.tif")
    theirs.save()
    theirs.close()                              # ... and the other window, in its own process, holds it
    with window_holding(tmp_path / "proj"):
        written = (tmp_path / "proj" / "project.json").read_bytes()
        mine.labels_for(mine.add_image(image)).paint_disc(0, 0, 8, 8, 3, 2)
        with pytest.raises(ProjectError, match="just opened in another unet_studio window"):
            mine.save()
        assert (tmp_path / "proj" / "project.json").read_bytes() == written
        mine.save_as(tmp_path / "mine")         # the strokes are kept elsewhere
    assert Project.open(tmp_path / "mine").labels_for(mine.images[0]).data.max() == 2


def test_one_window_may_open_its_project_twice_and_holds_it_until_both_close(project_folder):
    first, second = Project.open(project_folder), Project.open(project_folder)
    assert not first.read_only and not second.read_only
    first.close()
    assert held_here(project_folder)           # the second still has it
    second.save()
    second.close()
    assert not (project_folder / project_lock.LOCK_FILE).exists()


def test_a_project_nobody_closed_is_let_go_once_it_is_gone(project_folder):
    project = Project.open(project_folder)
    assert held_here(project_folder)
    del project
    gc.collect()
    with window_holding(project_folder):
        pass


@pytest.mark.skipif(project_lock.fcntl is None, reason="flock: not on Windows")
def test_a_folder_whose_file_system_keeps_no_locks_still_opens_for_changes(project_folder, monkeypatch):
    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(project_lock.fcntl, "flock", no_locks)
    project = Project.open(project_folder)
    assert not project.read_only and held_here(project_folder)
    project.save()


def test_a_holder_on_another_computer_holds_it_and_says_how_to_free_it(project_folder):
    left_behind(project_folder, 1, host="another-computer.example")
    project = Project.open(project_folder)
    assert project.read_only and "another-computer.example" in project.open_elsewhere
    assert project_lock.LOCK_FILE in project.open_elsewhere            # delete it if nothing runs there
