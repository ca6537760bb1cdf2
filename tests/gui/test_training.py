"""Train from the window: the worker runs, the overlay appears, Stop keeps the model,
failures become dialogs, and closing during training does not hang."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from tests.gui.helpers import TINY_TRAINING, blobs_image, drag, show_array


def paint_both_classes(window, qtbot):
    """Strokes on the background (class 1) and inside two discs (class 2)."""
    window.tools.set_brush_size(3)
    window.classes_panel.select(1)
    drag(qtbot, window.canvas, [(2, 2), (2, 60), (32, 60)])
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(16, 12), (16, 20)])
    drag(qtbot, window.canvas, [(46, 26), (46, 34)])


def wait_until_stopped(qtbot, window, timeout=120_000):
    qtbot.waitUntil(lambda: not window.training.running and not window.pool.running, timeout=timeout)


def test_train_shows_progress_and_the_overlay(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING, steps=8)
    qtbot.mouseClick(window.training_panel.button, Qt.MouseButton.LeftButton)
    assert window.training.running
    assert window.training_panel.button.text().startswith("Stop")
    wait_until_stopped(qtbot, window)
    assert window.training_panel.button.text().startswith("Train")
    assert window.training_panel.step.text() == "8"
    assert len(window.training_panel._losses) >= 1
    assert document.model is not None
    # The visible plane is predicted and shown as the mask layer, in class numbers 1..2.
    qtbot.waitUntil(lambda: window.canvas.mask_layer.image is not None, timeout=60_000)
    shown = window.canvas.mask_layer.image
    assert shown.shape == (64, 64)
    assert set(np.unique(shown)) <= {1, 2}
    # The heat map of the chosen class is a probability in [0, 1].
    window.overlay_panel.set_mode("probability", 2)
    heat = window.canvas.heat_layer.image
    assert heat is not None and heat.shape == (64, 64)
    assert 0.0 <= heat.min() and heat.max() <= 1.0
    assert window.canvas.mask_layer.image is None  # one overlay at a time
    window.overlay_panel.set_mode("uncertainty")
    uncertainty = window.canvas.heat_layer.image
    assert uncertainty is not heat and 0.0 <= uncertainty.min() and uncertainty.max() <= 1.0
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_V)  # hide the prediction
    assert window.canvas.heat_layer.image is None and window.canvas.mask_layer.image is None


def test_ctrl_t_starts_and_stop_keeps_the_model(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING)  # no budget: until stopped
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert window.training.running
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    window.training_panel.button.click()  # Stop
    wait_until_stopped(qtbot, window, timeout=60_000)
    assert document.model is not None
    assert document.model.summary.get("steps", 1) >= 1


def test_strokes_painted_during_training_reach_the_labels(window, qtbot):
    document = show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING)
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    version = document.labels.version
    drag(qtbot, window.canvas, [(50, 45), (50, 58)])  # painting is not blocked by training
    assert document.labels.version > version and document.labels.data[50, 50] == 2
    window.training.stop()
    wait_until_stopped(qtbot, window, timeout=60_000)


def test_what_training_says_stays_readable(window, qtbot, monkeypatch):
    """A class added and painted during training: the run goes on with it, and the panel says
    so and keeps it on screen while the updates go on."""
    show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING)
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *args, **kw: ("debris", True)))
    window.classes_panel.add_class()
    window.classes_panel.select(3)
    drag(qtbot, window.canvas, [(60, 2), (60, 30)])
    said = "learning 3 classes now (the model knew 2)"   # the new run, from the model so far
    qtbot.waitUntil(lambda: said in window.training_panel.message.text(), timeout=60_000)
    qtbot.waitUntil(lambda: window.training_panel.step.text().isdigit(), timeout=60_000)   # the new run's
    step = int(window.training_panel.step.text())
    qtbot.waitUntil(lambda: int(window.training_panel.step.text()) >= step + 20, timeout=60_000)
    assert said in window.training_panel.message.text()
    window.training.stop()
    wait_until_stopped(qtbot, window, timeout=60_000)


def test_training_without_labels_says_why(window, qtbot, dialogs):
    show_array(window, blobs_image()[0], "YX")
    window.training.config_options = dict(TINY_TRAINING, steps=5)
    window.training.start()
    wait_until_stopped(qtbot, window)
    assert len(dialogs.errors()) == 1
    _, title, reason = dialogs.errors()[0]
    assert title == "Training failed"
    assert "\n" not in reason and "Traceback" not in reason and len(reason) > 10
    assert window.isVisible() and not window.training.running
    assert window.training_panel.button.text().startswith("Train")


def test_closing_during_training_asks_and_stops_cleanly(window, qtbot, dialogs):
    show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING)
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    dialogs.answer_yes = False
    window.close()                       # "Stop training and quit?" -> No: keeps running
    assert window.isVisible() and window.training.running
    dialogs.answer_yes = True
    window.close()                       # returns once the worker has stopped
    assert not window.isVisible()
    assert not window.pool.running       # the worker thread has ended
    assert any("Training is running" in title and "The model trained so far is kept" in text
               for _, title, text in dialogs.questions())


def test_opening_another_image_during_training_stops_it_quietly(window, qtbot, dialogs, tmp_path):
    import tifffile

    first = show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING)
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    path = tmp_path / "next.tif"
    tifffile.imwrite(path, blobs_image(seed=3)[0])
    window.open_files([str(path)])
    qtbot.waitUntil(lambda: window.document is not first and window.document is not None, timeout=60_000)
    wait_until_stopped(qtbot, window)
    titles = [title for _, title, _ in dialogs.questions()]
    assert titles == ["Training is running"]  # strokes are saved as painted: no question about them
    assert not dialogs.errors()          # the stopped run did not trip over the closed file
    assert window.document.model is None  # the old image's model does not leak into the new one


def test_every_train_leaves_one_core_for_the_window_not_one_more(monkeypatch):
    """The start-up warm-up and each Train set torch's threads in their own thread; the
    setting is one for the whole process, so each must count from the cores (with 8 cores,
    training had 7 threads, then 6, 5, ... one fewer at every Train), and training's own
    "all cores" (pick_device, once per process) must not undo it."""
    import threading

    import torch

    from unet_studio.gui.training.live_training import leave_a_core_for_the_window
    from unet_studio.ml import device

    def in_a_new_thread(work):
        result = []
        thread = threading.Thread(target=lambda: result.append(work()))
        thread.start()
        thread.join()
        return result[0]

    def train_in_a_new_thread():
        leave_a_core_for_the_window()
        device.pick_device("cpu")   # what train() does first
        return torch.get_num_threads()

    before = torch.get_num_threads()
    try:
        for cores, expected in ((8, 7), (1, 1)):
            monkeypatch.setattr(device, "cpu_cores", lambda: cores)
            monkeypatch.setattr(device, "_threads_set", False)   # as in a new process
            for _ in range(3):   # the warm-up, then Train twice: each a new thread
                assert in_a_new_thread(train_in_a_new_thread) == expected
            # What the next thread gets (a thread that already ran torch keeps its own).
            assert in_a_new_thread(torch.get_num_threads) == expected
    finally:
        torch.set_num_threads(before)


def test_training_on_the_cpu_runs_below_the_window_on_the_cores_others_leave_free(monkeypatch):
    """Linux: Train lowers its thread's priority and takes every core other programs leave
    free (8 cores, 3 busy elsewhere: 5 threads); where a thread's priority cannot be lowered,
    one thread fewer than there are cores at the usual priority, as before."""
    import os
    import sys
    import threading

    import torch

    from tests.threads import in_its_own_thread
    from unet_studio.gui.training.live_training import TRAINING_NICENESS, share_the_cores_with_the_window
    from unet_studio.ml import device

    monkeypatch.setattr(device, "cpu_cores", lambda: 8)
    monkeypatch.setattr(device, "cores_busy_elsewhere", lambda seconds=0.2: 3)
    linux = sys.platform.startswith("linux")

    def train():
        priority = (lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())) if linux else (lambda: 0)
        before = priority()
        share_the_cores_with_the_window()
        # nice levels stop at 19
        return priority() - before, torch.get_num_threads(), min(TRAINING_NICENESS, 19 - before)

    lowered_by, threads, room = in_its_own_thread(train)
    assert (lowered_by, threads) == ((room, 5) if linux else (0, 7))


def test_only_a_run_on_the_cpu_shares_the_cores_with_the_window(monkeypatch):
    """A run on a GPU keeps its thread at the usual priority (a busy CPU must not starve the
    GPU); "auto" on a machine with CUDA is such a run."""
    import torch

    from unet_studio.gui.training.live_training import trains_on_the_cpu

    assert trains_on_the_cpu("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not trains_on_the_cpu("auto") and not trains_on_the_cpu("cuda")


def test_after_training_on_every_core_other_work_leaves_one_for_the_window(window, qtbot, monkeypatch):
    """Training may take every free core below the window, but torch's thread count is one
    for the process: once the run ends, work started afterwards at the usual priority (the
    shown plane's prediction) must again leave a core for the window."""
    import torch

    from tests.threads import in_its_own_thread
    from unet_studio.ml import device

    monkeypatch.setattr(device, "cpu_cores", lambda: 8)
    monkeypatch.setattr(device, "cores_busy_elsewhere", lambda seconds=0.2: 0)
    threads_before = torch.get_num_threads()
    try:
        show_array(window, blobs_image()[0], "YX")
        paint_both_classes(window, qtbot)
        window.training.config_options = dict(TINY_TRAINING, steps=4, device="cpu")
        window.training.start()
        wait_until_stopped(qtbot, window)
        assert in_its_own_thread(torch.get_num_threads) == 7
    finally:
        torch.set_num_threads(threads_before)


def test_no_previews_are_asked_for_while_the_window_is_minimised(window, qtbot):
    """Minimised, nobody sees the previews: training asks for none and keeps their time for
    its steps; shown again, the previews come back."""
    show_array(window, blobs_image()[0], "YX")
    window.show()
    qtbot.waitExposed(window)
    asked = window.training._preview_request   # what the engine calls between steps
    assert asked() == (0, 0, 0)
    window.showMinimized()
    qtbot.waitUntil(lambda: asked() is None, timeout=5_000)
    window.showNormal()
    qtbot.waitUntil(lambda: asked() == (0, 0, 0), timeout=5_000)


def test_a_cleared_loss_plot_does_not_keep_the_last_runs_axes(window, qtbot):
    """After "Use this model" or "Start a new model" the panel is cleared: an empty plot, not
    the old run's 0-80 steps waiting for the next run to redraw them."""
    show_array(window, blobs_image()[0], "YX")   # the panels show once an image is open
    window.show()   # and the plot sets its axes once it is laid out
    qtbot.waitExposed(window)
    panel = window.training_panel
    for step in range(1, 80):
        panel.show_progress(step, 1.0 / step, 10.0, "CPU")
    view = panel.plot.getViewBox()
    qtbot.waitUntil(lambda: view.viewRange()[0][1] > 50, timeout=5_000)
    panel.clear()
    assert view.viewRange()[0][1] <= 1 and view.viewRange()[1][1] <= 1
    for step in range(1, 5):   # the next run's curve sets the axes again
        panel.show_progress(step, 0.2 / step, 10.0, "CPU")
    qtbot.waitUntil(lambda: 3 < view.viewRange()[0][1] < 10, timeout=5_000)


def test_a_long_device_description_does_not_widen_the_training_panel(qtbot):
    from unet_studio.gui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show_progress(1, 0.5, 10.0, "CPU")
    narrow = panel.device.minimumSizeHint().width()
    long = "CPU (1 thread; 2 cores busy with other programs, so training waits for a free core)"
    panel.show_progress(2, 0.4, 10.0, long)
    assert panel.device.minimumSizeHint().width() <= narrow
    assert panel.device.toolTip() == long


def test_a_class_added_or_removed_while_training_starts_the_run_again_with_it(window, qtbot, dialogs):
    """The run learns the classes as they are: one added goes into the model (the run starts
    again from the one so far), one removed leaves it; the user's Stop stops."""
    document = show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING)   # until stopped
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    document.labels.add_class("mitochondria")
    qtbot.waitUntil(lambda: window.training.running and window.training._run_classes[-1:] == ["mitochondria"],
                    timeout=120_000)
    qtbot.waitUntil(lambda: document.model is not None, timeout=60_000)   # the first run's model, kept
    document.labels.remove_class(3)
    qtbot.waitUntil(lambda: window.training.running and len(window.training._run_classes) == 2, timeout=120_000)
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)
    window.training.stop()
    wait_until_stopped(qtbot, window)
    assert not window.training.running and not dialogs.errors()
    assert document.model.n_classes == 2


def test_exports_call_the_classes_as_they_are_and_refuse_a_model_of_other_classes(window, qtbot, dialogs):
    document = show_array(window, blobs_image()[0], "YX")
    paint_both_classes(window, qtbot)
    window.training.config_options = dict(TINY_TRAINING, steps=3)
    window.training.start()
    wait_until_stopped(qtbot, window)
    document.labels.rename_class(2, "nucleus")
    assert [c["name"] for c in document.model.classes] == ["background", "nucleus"]   # what exports write
    document.labels.add_class("mitochondria")
    assert not window.stack_jobs.ready_for_model_job()
    kind, title, text = dialogs.errors()[-1]
    assert title == "The classes changed" and "trained on 2 classes" in text and "Press Train" in text
