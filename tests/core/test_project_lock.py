"""One unet_studio at a time changes a project: a second opens it read-only, a crashed holder
holds nothing, and letting it go frees it."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tifffile

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


def held_by(folder, pid: int, host: str | None = None) -> None:
    (folder / project_lock.LOCK_FILE).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname()}))


@pytest.fixture
def another_window():
    """A running process that is not this one."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_project_another_window_holds_opens_read_only_and_saves_nothing(project_folder, another_window, tmp_path):
    held_by(project_folder, another_window)
    before = (project_folder / "project.json").read_bytes()
    project = Project.open(project_folder)
    labels_file = project_folder / project.images[0].labels
    strokes = labels_file.read_bytes()
    assert project.read_only and str(another_window) in project.open_elsewhere
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
    assert json.loads((project_folder / project_lock.LOCK_FILE).read_text())["pid"] == another_window


def test_a_holder_that_is_gone_holds_nothing(project_folder):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    held_by(project_folder, int(gone.stdout))      # a window that crashed
    project = Project.open(project_folder)
    assert not project.read_only and project.open_elsewhere is None
    assert json.loads((project_folder / project_lock.LOCK_FILE).read_text())["pid"] == os.getpid()
    project.save()


def test_closing_lets_the_project_go_and_a_new_project_is_held_once_written(project_folder, tmp_path):
    project = Project.open(project_folder)
    assert (project_folder / project_lock.LOCK_FILE).is_file()
    project.close()
    assert not (project_folder / project_lock.LOCK_FILE).exists()
    new = Project(tmp_path / "new")
    assert not (tmp_path / "new").exists()                             # nothing written, nothing held
    new.ensure_created()
    assert project_lock.held_elsewhere(tmp_path / "new") is None       # held by this process
    assert json.loads((tmp_path / "new" / project_lock.LOCK_FILE).read_text())["pid"] == os.getpid()


def test_a_holder_on_another_computer_holds_it_and_says_how_to_free_it(project_folder):
    held_by(project_folder, 1, host="another-computer.example")
    project = Project.open(project_folder)
    assert project.read_only and "another-computer.example" in project.open_elsewhere
    assert project_lock.LOCK_FILE in project.open_elsewhere            # delete it if nothing runs there
