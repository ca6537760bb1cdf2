"""Autosave after strokes, and atomic label files under kill -9."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import tifffile

from unet_studio.core.autosave import Autosaver
from unet_studio.core.labels import LabelVolume
from unet_studio.core.image_project import project_for_image
from unet_studio.core.project import Project


def wait_until(condition, timeout=15.0) -> bool:
    """Poll `condition` until it holds or `timeout` passes (a bound, not a speed check)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_autosave_writes_the_labels_soon_after_a_stroke(tmp_path):
    image = tmp_path / "cells.tif"
    tifffile.imwrite(image, np.zeros((32, 32), np.uint8))
    project = project_for_image(image)
    labels = project.labels_for(project.images[0])
    saver = Autosaver(project.save_labels, quiet=0.2, longest=1.0)
    with labels.stroke():
        labels.paint_line(0, 0, 2, 2, 20, 25, 2, 1)
    saver.changed(labels)
    path = project.labels_path(project.images[0])
    assert wait_until(path.is_file)
    assert wait_until(lambda: not saver.pending)
    # The process could die now: opening the image again restores the stroke.
    again = project_for_image(image)
    np.testing.assert_array_equal(again.labels_for(again.images[0]).data, labels.data)
    saver.close()


def test_many_quick_strokes_are_written_together(tmp_path):
    labels = LabelVolume((16, 16))
    writes = []
    saver = Autosaver(lambda lv: writes.append(lv.snapshot()[0]), quiet=0.5, longest=5.0)
    for i in range(40):
        labels.paint_disc(0, 0, i % 16, 3, 1, 1)
        saver.changed(labels)
    assert wait_until(lambda: len(writes) >= 1 and not saver.pending)
    assert len(writes) < 5  # coalesced, not one write per stroke
    np.testing.assert_array_equal(writes[-1], labels.data)  # the last write has every stroke
    saver.close()


def test_flush_writes_pending_changes_at_once(tmp_path):
    labels = LabelVolume((16, 16))
    path = tmp_path / "l.tif"
    saver = Autosaver(lambda lv: lv.save(path), quiet=60, longest=60)  # would wait a minute
    labels.paint_disc(0, 0, 8, 8, 2, 1)
    saver.changed(labels)
    assert saver.flush(timeout=30)
    assert LabelVolume.load(path).data[8, 8] == 1
    saver.close()


def test_write_errors_are_reported_not_raised(tmp_path):
    labels = LabelVolume((16, 16))
    errors = []

    def refuse(lv):
        raise PermissionError(13, "Permission denied")

    saver = Autosaver(refuse, quiet=0.05, longest=0.1, on_error=lambda lv, e: errors.append((lv, e)))
    labels.paint_disc(0, 0, 8, 8, 2, 1)
    saver.changed(labels)  # must not raise in the painting thread
    assert wait_until(lambda: errors)
    assert errors[0][0] is labels and isinstance(errors[0][1], PermissionError)
    saver.changed(labels)
    assert not saver.flush(timeout=30)  # flush says the save failed
    saver.close()


def test_painting_continues_while_a_slow_write_runs(tmp_path):
    labels = LabelVolume((16, 16))
    started, release = threading.Event(), threading.Event()
    saved = []

    def slow_write(lv):
        started.set()
        release.wait(30)
        saved.append(lv.snapshot()[0])

    saver = Autosaver(slow_write, quiet=0.0, longest=0.0)
    labels.paint_disc(0, 0, 2, 2, 1, 1)
    saver.changed(labels)
    assert started.wait(15)
    # The writer is blocked; strokes and changed() must still go through.
    labels.paint_disc(0, 0, 9, 9, 1, 2)
    saver.changed(labels)
    assert labels.data[9, 9] == 2
    release.set()
    assert saver.flush(timeout=30)
    assert saved[-1][9, 9] == 2  # the stroke made during the slow write was saved too
    saver.close()


def test_labels_for_a_project_autosaver_create_the_project_folder(tmp_path):
    image = tmp_path / "x.tif"
    tifffile.imwrite(image, np.zeros((8, 8), np.uint8))
    project = project_for_image(image)
    labels = project.labels_for(project.images[0])
    saver = Autosaver(project.save_labels, quiet=0.05, longest=0.1)
    saver.changed(labels)  # nothing painted yet: no reason to create files
    assert saver.flush(timeout=30)
    assert not project.folder.exists()
    labels.paint_disc(0, 0, 1, 1, 1, 1)
    saver.changed(labels)
    assert saver.flush(timeout=30)
    assert Project.open(project.folder).labels_for("1").data[1, 1] == 1
    saver.close()


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from unet_studio.core.labels import LabelVolume

    path, ready = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    volumes = []
    for value in (1, 2):
        v = LabelVolume((8, 512, 512), "ZYX")
        v.data[:] = rng.integers(0, 3, v.shape)  # random: compresses poorly, writes slowly
        v.data[0, 0, 0] = value                  # tells the two versions apart
        volumes.append(v)
    volumes[0].save(path)
    open(ready, "w").close()
    i = 0
    while True:
        volumes[i % 2].save(path)
        i += 1
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9 (POSIX)")
def test_a_writer_killed_mid_write_leaves_the_old_or_the_new_file(tmp_path):
    rng = np.random.default_rng(0)
    expected = {}
    killed_mid_write = rounds = 0
    # At least 4 kills, and on until one landed mid-write (on a loaded machine the writer may
    # spend a few moments between writes); at most 16.
    while rounds < 4 or (not killed_mid_write and rounds < 16):
        round_, rounds = rounds, rounds + 1
        path, ready = tmp_path / f"labels{round_}.tif", tmp_path / f"ready{round_}"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(ready)])
        try:
            assert wait_until(ready.exists, timeout=60)
            time.sleep(float(rng.uniform(0.05, 0.8)))  # random moment, likely mid-write
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        # A temporary file left behind shows the kill landed inside a write.
        killed_mid_write += bool(list(tmp_path.glob(f".labels{round_}.tif.*.tmp")))
        labels = LabelVolume.load(path)
        if not expected:
            gen = np.random.default_rng(0)
            for value in (1, 2):
                data = gen.integers(0, 3, (8, 512, 512)).astype(np.uint8)
                data[0, 0, 0] = value
                expected[value] = data
        np.testing.assert_array_equal(labels.data, expected[int(labels.data[0, 0, 0])])
    # Each write takes most of the writer's time, so most kills land mid-write; if none did,
    # the test did not exercise what it claims to.
    assert killed_mid_write >= 1


PAINTER = textwrap.dedent(
    """
    import sys, time
    from unet_studio.core.autosave import Autosaver
    from unet_studio.core.image_project import project_for_image

    project = project_for_image(sys.argv[1])
    labels = project.labels_for(project.images[0])
    saver = Autosaver(project.save_labels, quiet=0.05, longest=0.2)
    i = 0
    while True:  # one pixel per stroke, in reading order
        with labels.stroke():
            labels.paint_disc(0, 0, i // 64, i % 64, 1, 1)
        saver.changed(labels)
        i += 1
        time.sleep(0.005)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9 (POSIX)")
def test_killed_while_painting_the_image_reopens_with_the_strokes_saved_so_far(tmp_path):
    image = tmp_path / "cells.tif"
    tifffile.imwrite(image, np.zeros((64, 64), np.uint8))
    labels_file = tmp_path / "cells.unet_studio" / "labels" / "cells.tif"
    proc = subprocess.Popen([sys.executable, "-c", PAINTER, str(image)])
    try:
        assert wait_until(labels_file.exists, timeout=60)
        time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    project = project_for_image(image)
    data = project.labels_for(project.images[0]).data.ravel()
    n = int(data.sum())
    assert n >= 1, n
    # Exactly the first n strokes: nothing garbled, nothing out of order.
    assert (data[:n] == 1).all() and not data[n:].any()
