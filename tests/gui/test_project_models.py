"""Models of a project: every run kept with its steps and loss, going back is a click; the
whole project can be predicted into a folder and exported as a reproducibility bundle."""
from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest
import tifffile

from tests.gui.helpers import TINY_TRAINING, drag, wait_idle, wait_showing, write_image


def open_painted_image(window, qtbot, tmp_path, name="cells.tif"):
    path = tmp_path / name
    write_image(path)
    window.open_files([str(path)])
    document = wait_showing(qtbot, window, name)
    window.tools.set_brush_size(3)
    window.classes_panel.select(1)
    drag(qtbot, window.canvas, [(2, 2), (2, 60)])
    window.classes_panel.select(2)
    drag(qtbot, window.canvas, [(16, 12), (16, 20)])
    return document


def train(window, qtbot, steps=3):
    window.training.config_options = dict(TINY_TRAINING, steps=steps)
    window.training.start()
    qtbot.waitUntil(lambda: not window.training.running, timeout=120_000)
    wait_idle(qtbot, window)


def predict_all_images_into(out, window, qtbot, monkeypatch):
    """Press "Predict all images…" and choose the new folder `out`; returns it once done."""
    out.mkdir()
    monkeypatch.setattr(window.dialogs, "output_folder", lambda start: str(out))
    window.predict_panel.images_button.click()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=120_000)
    return out


def training_runs_until_stopped(window, qtbot) -> None:
    """Train (a tiny network) until stopped; returns once a step is shown."""
    window.training.config_options = dict(TINY_TRAINING)
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=120_000)


def show_project_image(window, qtbot, name: str) -> None:
    """Show the project's image called `name` as a click in the images list does, until it is shown
    (its workers may still run)."""
    [entry] = [e for e in window.session.project.images if e.name == name]
    window.projects.switch_to(entry.id)
    qtbot.waitUntil(lambda: window.document is not None and window.document.name == name, timeout=60_000)


def weights(model) -> list[np.ndarray]:
    return [v.detach().cpu().numpy().copy() for v in model.net.state_dict().values()]


def test_each_run_is_kept_and_going_back_is_a_click(window, qtbot, tmp_path, dialogs):
    from unet_studio.ml.model_file import load_model

    document = open_painted_image(window, qtbot, tmp_path)
    assert window.models_panel.empty.isVisibleTo(window)
    train(window, qtbot, steps=3)
    # The list gives the run the loss the training panel showed last, written alike.
    assert window.models_panel.tree.topLevelItem(0).text(3) == window.training_panel.loss.text() != "–"
    train(window, qtbot, steps=2)
    project = window.session.project
    first, second = list(project.models)
    assert (first.steps, second.steps) == (3, 2)
    assert first.loss is not None and np.isfinite(first.loss)
    assert project.models.current is second and window.session.model_id == second.id
    assert second.info["started_from"] == first.id    # the second run went on from the first
    tree = window.models_panel.tree
    assert tree.topLevelItemCount() == 2
    assert tree.topLevelItem(0).text(0) == "●" and tree.topLevelItem(0).text(2) == "2"   # newest on top
    assert tree.topLevelItem(1).text(0) == "" and tree.topLevelItem(1).text(2) == "3"

    tree.setCurrentItem(tree.topLevelItem(1))
    assert window.models_panel.use_button.isEnabled()
    window.models_panel.use_button.click()              # back to the first run
    qtbot.waitUntil(lambda: window.session.model_id == first.id, timeout=30_000)
    wait_idle(qtbot, window)
    assert "Using the model trained today" in window.training_panel.message.text()
    assert window.training_panel.step.text() == "–"   # the last run's numbers are not this model's
    assert project.models.current.id == first.id
    assert tree.topLevelItem(1).text(0) == "●" and tree.topLevelItem(0).text(0) == ""
    for got, expected in zip(weights(document.model), weights(load_model(project.model_path(first)))):
        np.testing.assert_array_equal(got, expected)
    # The overlay shows the chosen model's prediction; the next run starts from it.
    qtbot.waitUntil(lambda: window.canvas.mask_layer.image is not None, timeout=30_000)
    train(window, qtbot, steps=1)
    assert project.models.entries[-1].info["started_from"] == first.id
    assert not dialogs.errors()
    log = project.training_log()
    assert [r["model"] for r in log] == [m.id for m in project.models]
    assert all(r["images"] == ["cells.tif"] for r in log)


def test_during_the_first_run_the_models_list_says_it_is_training(window, qtbot, tmp_path):
    open_painted_image(window, qtbot, tmp_path)
    empty = window.models_panel.empty
    assert empty.text().startswith("No model yet")
    window.training.config_options = dict(TINY_TRAINING)     # until stopped
    window.training.start()
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=60_000)
    assert empty.isVisibleTo(window) and "No model yet" not in empty.text() and "Training" in empty.text()
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.running, timeout=60_000)
    wait_idle(qtbot, window)
    assert window.models_panel.tree.topLevelItemCount() == 1


def test_a_new_model_starts_afresh_and_the_earlier_ones_stay(window, qtbot, tmp_path, dialogs):
    from unet_studio.core.project import Project

    document = open_painted_image(window, qtbot, tmp_path)
    panel = window.models_panel
    assert not panel.new_button.isVisibleTo(window)   # no model yet: nothing to start anew from
    train(window, qtbot, steps=2)
    qtbot.waitUntil(lambda: window.canvas.mask_layer.image is not None, timeout=30_000)
    project = window.session.project
    (first,) = list(project.models)
    assert panel.new_button.isVisibleTo(window) and panel.new_button.isEnabled()

    panel.new_button.click()
    # Nothing is shown or trained further; the first model is still listed, not current.
    assert document.model is None and window.session.model is None and window.session.model_id is None
    assert not document.predictions
    wait_idle(qtbot, window)
    assert window.canvas.mask_layer.image is None
    assert project.models.current is None and Project.open(project.folder).models.current is None
    assert panel.tree.topLevelItemCount() == 1 and panel.tree.topLevelItem(0).text(0) == ""
    assert not panel.new_button.isEnabled()
    assert "start a new model" in window.training_panel.message.text()

    train(window, qtbot, steps=2)   # from the start, not from the first model
    first_again, new = list(project.models)
    assert first_again.id == first.id and project.models.current is new
    assert "started_from" not in new.info
    assert "fine_tuned_after_steps" not in document.model.summary
    assert not dialogs.errors()


def test_a_model_still_loading_when_the_user_starts_a_new_one_is_not_shown(window, qtbot, tmp_path, dialogs):
    document = open_painted_image(window, qtbot, tmp_path)
    train(window, qtbot, steps=2)
    qtbot.waitUntil(lambda: window.canvas.mask_layer.image is not None, timeout=30_000)
    # As when a project has just opened: its current model is loading in a worker, whose
    # result reaches the window only once the event loop runs, after the click below.
    window.project_models.load_current()
    window.models_panel.new_button.click()
    wait_idle(qtbot, window)
    assert window.session.project.models.current is None
    assert document.model is None and window.session.model is None
    assert window.canvas.mask_layer.image is None
    assert "start a new model" in window.training_panel.message.text()
    assert not dialogs.errors()


def test_bundle_holds_labels_settings_log_and_model(window, qtbot, tmp_path, monkeypatch, dialogs):
    document = open_painted_image(window, qtbot, tmp_path)
    train(window, qtbot, steps=2)
    bundle = tmp_path / "out" / "cells-bundle.zip"
    bundle.parent.mkdir()
    monkeypatch.setattr(window.dialogs, "bundle_path", lambda suggested: str(bundle))
    window.actions_by_name["export_bundle"].trigger()
    qtbot.waitUntil(lambda: not window.stack_jobs.busy, timeout=60_000)
    assert not dialogs.errors()
    model = window.session.project.models.current
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"project.json", "labels/cells.tif", "training-log.jsonl", model.file} <= names
        doc = json.loads(zf.read("project.json"))
        log = [json.loads(line) for line in zf.read("training-log.jsonl").splitlines()]
        zf.extract("labels/cells.tif", tmp_path / "unzipped")
    assert [m["id"] for m in doc["models"]] == [model.id]
    assert [c["name"] for c in doc["classes"]] == ["background", "foreground"]
    assert log[-1]["model"] == model.id
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "unzipped" / "labels" / "cells.tif"),
                                  document.labels.data)
    assert window.predict_panel.status.text() == "Saved cells-bundle.zip"


def test_predict_all_images_writes_each_image_s_mask_objects_and_the_counts_per_image(
        window, qtbot, tmp_path, monkeypatch, dialogs):
    open_painted_image(window, qtbot, tmp_path, "a.tif")
    write_image(tmp_path / "more" / "a.tif", seed=4)     # same name, another folder
    write_image(tmp_path / "b.tif", seed=5, shape=(48, 80))
    window.project_images.add_images([str(tmp_path / "more" / "a.tif"), str(tmp_path / "b.tif")])
    wait_idle(qtbot, window)
    assert [row.name for row in window.images_panel.rows] == ["a.tif", "a.tif", "b.tif"]
    assert window.predict_panel.images_button.isVisibleTo(window)
    train(window, qtbot, steps=2)
    out = predict_all_images_into(tmp_path / "masks", window, qtbot, monkeypatch)
    assert not dialogs.errors()
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{stem}_{what}" for stem in ("a", "a-2", "b")   # the CLI's names
                             for what in ("mask.tif", "instances.tif", "objects.csv")) + ["objects_per_image.csv"]
    assert tifffile.imread(out / "b_mask.tif").shape == (48, 80)
    assert set(np.unique(tifffile.imread(out / "a_mask.tif"))) <= {0, 1}  # background is 0
    status = window.predict_panel.status.text()
    assert "3 images" in status and "objects_per_image.csv" in status
    with open(out / "objects_per_image.csv", newline="") as f:
        counts = list(csv.DictReader(f))
    assert [(row["image"], row["table"]) for row in counts] == [
        ("a.tif", "a_objects.csv"), ("more/a.tif", "a-2_objects.csv"), ("b.tif", "b_objects.csv")]
    for row in counts:   # each image's count is the rows of its own table
        with open(out / row["table"], newline="") as f:
            assert int(row["objects"]) == len(list(csv.DictReader(f)))


def test_dropping_images_on_the_window_adds_them_to_the_project(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    open_painted_image(window, qtbot, tmp_path, "a.tif")
    paths = [tmp_path / "c.tif", tmp_path / "d.tif"]
    for seed, path in enumerate(paths):
        write_image(path, seed=seed)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    window.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    wait_idle(qtbot, window)
    assert [row.name for row in window.images_panel.rows] == ["a.tif", "c.tif", "d.tif"]
    assert window.document.name == "a.tif"               # still painting where we were
    assert window.windowTitle() == "a.tif — a.unet_studio — unet_studio"   # now a project of 3
    assert [row.count for row in window.images_panel.rows][1:] == [0, 0]
    assert "no labels yet" in window.images_panel.list.item(1).text()
    project = json.loads((tmp_path / "a.unet_studio" / "project.json").read_text())
    assert [i["path"] for i in project["images"]] == ["../a.tif", "../c.tif", "../d.tif"]


def test_quitting_during_training_keeps_the_run_in_the_project(make_window, qtbot, tmp_path, dialogs):
    window = make_window()
    open_painted_image(window, qtbot, tmp_path)
    training_runs_until_stopped(window, qtbot)
    window.close()                                           # "Stop training and quit?" -> Yes
    assert not window.isVisible()
    again = make_window()
    again.open_files([str(tmp_path / "cells.tif")])
    document = wait_showing(qtbot, again, "cells.tif")
    assert len(again.session.project.models) == 1 and again.session.project.models.current.steps >= 1
    qtbot.waitUntil(lambda: document.model is not None, timeout=60_000)
    assert not dialogs.errors()   # nothing ran on the closed window's file


def batches_fail_from_the_sixth(monkeypatch) -> None:
    """Training's batches fail from the 6th on ("the batch could not be read")."""
    from unet_studio.ml.data import TrainingSet

    sample, calls = TrainingSet.sample, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 5:
            raise RuntimeError("the batch could not be read")
        return sample(self, *args, **kwargs)

    monkeypatch.setattr(TrainingSet, "sample", failing)


def test_a_run_an_error_stops_keeps_what_it_trained(window, qtbot, tmp_path, dialogs, monkeypatch):
    """Minutes of training are the user's work: an error after some steps (here the batches
    fail from the 6th on) ends the run with its model kept in the project and shown, and says so."""
    from unet_studio.ml.model_file import load_model

    document = open_painted_image(window, qtbot, tmp_path)
    batches_fail_from_the_sixth(monkeypatch)
    train(window, qtbot, steps=50)
    [error] = dialogs.errors()
    assert "the batch could not be read" in error[2] and "model trained until then is kept" in error[2]
    assert "model trained until then is kept" in window.training_panel.message.text()
    project = window.session.project
    [entry] = list(project.models)
    assert entry.steps == document.model.summary["steps"] >= 3     # the steps before the error
    assert entry.info["stopped_by_error"] == "RuntimeError: the batch could not be read"
    assert window.session.model_id == entry.id
    for got, expected in zip(weights(document.model), weights(load_model(project.model_path(entry)))):
        np.testing.assert_array_equal(got, expected)


def test_a_run_s_loss_is_shown_with_two_significant_digits_and_never_as_zero():
    from unet_studio.gui.panels.models_panel import loss_text

    assert [loss_text(v) for v in (0.0312, 0.391, 1.5, 0.0012)] == ["0.031", "0.39", "1.5", "0.0012"]
    assert loss_text(0.000082) == loss_text(0.0) == "< 0.001"
    assert loss_text(None) == loss_text(float("nan")) == "–"


def test_a_training_that_went_on_across_images_is_one_row_with_its_runs_under_it(qtbot):
    """Runs that went on by themselves when the user showed another image are one training to
    the user: one row, the latest model and the steps of all its runs; the earlier runs are
    under it and can be chosen. A Train press after it is a row of its own."""
    from PySide6.QtCore import Qt

    from unet_studio.core.project_file import ModelEntry
    from unet_studio.gui.panels.models_panel import CURRENT_MARK, ModelsPanel

    def entry(name, steps, **info):
        return ModelEntry(id=name, file=f"models/{name}.pt", time="2026-01-02T10:00:00", steps=steps, info=info)

    first = entry("a", 300)
    on_b = entry("b", 200, started_from="a", went_on=True)
    on_c = entry("c", 100, started_from="b", went_on=True)
    pressed = entry("d", 50, started_from="c")   # the user stopped, painted and pressed Train
    first.current = True                           # the user went back to the first run's model
    panel = ModelsPanel()
    qtbot.addWidget(panel)
    panel.set_models([first, on_b, on_c, pressed])
    tree = panel.tree
    assert tree.topLevelItemCount() == 2
    newest, training = tree.topLevelItem(0), tree.topLevelItem(1)
    assert newest.text(2) == "50" and newest.childCount() == 0
    assert training.text(2) == "600" and training.data(0, Qt.ItemDataRole.UserRole) == "c"
    assert [training.child(i).data(0, Qt.ItemDataRole.UserRole) for i in range(2)] == ["b", "a"]
    assert training.isExpanded() and tree.currentItem() is training.child(1)
    assert training.child(1).text(0) == CURRENT_MARK and panel.current_id == "a"
    chosen = []
    panel.model_chosen.connect(chosen.append)
    tree.setCurrentItem(training.child(0))
    panel.use_button.click()
    assert chosen == ["b"]


def test_a_run_an_error_stops_whose_model_cannot_be_kept_does_not_say_it_is_kept(window, qtbot, tmp_path, dialogs,
                                                                               monkeypatch):
    """The same error, and the project cannot keep the model either: the model stays in use,
    and the training message does not claim it was kept."""
    from unet_studio.core.errors import UnetStudioError
    from unet_studio.workflow import training_run

    document = open_painted_image(window, qtbot, tmp_path)
    batches_fail_from_the_sixth(monkeypatch)

    def cannot_keep(*args, **kwargs):
        raise UnetStudioError("the disk is full")

    monkeypatch.setattr(training_run, "keep_model", cannot_keep)
    dialogs.answer_yes = False     # not "Save Project As" now
    train(window, qtbot, steps=50)
    [error] = dialogs.errors()
    [question] = dialogs.questions()
    assert "the disk is full" in question[2]
    assert "the batch could not be read" in error[2] and "is kept" not in error[2] and "stays in use" in error[2]
    assert "is kept" not in window.training_panel.message.text()
    assert document.model is not None and not list(window.session.project.models)


@pytest.mark.parametrize("last", ["the run ends", "the image is shown"])
def test_showing_another_image_while_training_goes_on_training_there(window, qtbot, tmp_path, dialogs,
                                                                    monkeypatch, last):
    """Another image of the project shown while training runs: nothing is asked; the run ends,
    its model becomes the project's and that image's, and a new run goes on from it with that
    image shown and previewed. The two happen in either order (the run may end first, or the
    image be shown first): in both, the other image has the run's model and a prediction."""
    import threading

    from unet_studio.gui.project import opening
    from unet_studio.gui.training import live_training

    open_painted_image(window, qtbot, tmp_path, "a.tif")
    write_image(tmp_path / "b.tif", seed=5)
    window.project_images.add_images([str(tmp_path / "b.tif")])
    wait_idle(qtbot, window)
    b_shown, first_ended = threading.Event(), threading.Event()
    window.training.running_changed.connect(lambda on: on or first_ended.set())
    runs: list[bool] = []
    window.training.running_changed.connect(runs.append)
    run, load = live_training.training_run, opening.load_entry

    def ends_after_b_is_shown(*args):
        yield from run(*args)
        b_shown.wait(60)

    def shown_after_the_run_ends(*args):
        first_ended.wait(60)
        return (yield from load(*args))

    if last == "the run ends":
        monkeypatch.setattr(live_training, "training_run", ends_after_b_is_shown)
    else:
        monkeypatch.setattr(opening, "load_entry", shown_after_the_run_ends)
    training_runs_until_stopped(window, qtbot)
    show_project_image(window, qtbot, "b.tif")
    document = window.document
    b_shown.set()
    qtbot.waitUntil(lambda: runs == [True, False, True], timeout=60_000)   # one run ended, the next started
    assert not dialogs.questions()
    [first] = list(window.session.project.models)
    assert window.session.model_id == first.id and document.model is window.session.model
    qtbot.waitUntil(lambda: document.predictions.mask(0, 0) is not None, timeout=60_000)   # previewed
    qtbot.waitUntil(lambda: window.training_panel.message.text().startswith(   # b has no labels yet
        "Training on the labels of another image (none on this one yet)."), timeout=60_000)
    qtbot.waitUntil(lambda: window.training_panel.step.text() not in ("–", "0"), timeout=60_000)
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.running, timeout=60_000)
    wait_idle(qtbot, window)
    assert window.document is document and not dialogs.errors()
    second = window.session.project.models.current
    assert second.id != first.id and second.info["started_from"] == first.id and second.info["went_on"]
    assert window.session.model_id == second.id and document.model is window.session.model
    # One training to the user: one row in the models list, the first run's model under it.
    tree = window.models_panel.tree
    assert tree.topLevelItemCount() == 1 and tree.topLevelItem(0).childCount() == 1
    assert tree.topLevelItem(0).text(2) == str(first.steps + second.steps)
    # ... and the training panel counts the same steps, on from the first run's.
    assert window.training_panel.step.text() == str(first.steps + second.steps)


def test_training_does_not_go_on_by_itself_on_an_image_of_another_kind(window, qtbot, tmp_path, dialogs):
    """A colour image shown while training on a grey one's strokes: the run ends and is kept, but
    no new run starts by itself (there is nothing of its kind to train on: Train decides), and the
    grey model is not given to it (it would fail on every plane), as the panel says."""
    open_painted_image(window, qtbot, tmp_path, "a.tif")
    grey = write_image(tmp_path / "grey.tif", seed=5)
    tifffile.imwrite(tmp_path / "colour.tif", np.stack([grey] * 3, axis=-1), photometric="rgb")
    window.project_images.add_images([str(tmp_path / "colour.tif")])
    wait_idle(qtbot, window)
    training_runs_until_stopped(window, qtbot)
    show_project_image(window, qtbot, "colour.tif")
    qtbot.waitUntil(lambda: not window.training.running, timeout=60_000)
    wait_idle(qtbot, window)
    assert not window.training.running and len(window.session.project.models) == 1
    assert not dialogs.errors() and not dialogs.questions()   # the grey model is not given to it either
    assert window.document.model is None
    assert "model reads images of 1 channel(s), this one has 3" in window.training_panel.message.text()
    for name, model_given in (("a.tif", True), ("colour.tif", False)):   # shown again, the model already there
        show_project_image(window, qtbot, name)
        wait_showing(qtbot, window, name)
        assert (window.document.model is window.session.model) is model_given and not dialogs.errors()
    assert "model reads images of 1 channel(s), this one has 3" in window.training_panel.message.text()


def test_training_does_not_go_on_when_the_other_image_cannot_be_shown(window, qtbot, tmp_path, dialogs,
                                                                      monkeypatch):
    """The image asked for fails to open while training runs: the run ends and is kept, the
    image shown stays, and nothing starts by itself then, nor at the next image shown."""
    from unet_studio.core.errors import StackError
    from unet_studio.gui.project import opening

    open_painted_image(window, qtbot, tmp_path, "a.tif")
    for name, seed in (("b.tif", 5), ("c.tif", 6)):
        write_image(tmp_path / name, seed=seed)
    window.project_images.add_images([str(tmp_path / "b.tif"), str(tmp_path / "c.tif")])
    wait_idle(qtbot, window)
    load = opening.load_entry

    def unreadable(project, entry):
        raise StackError(f"{entry.name}: unreadable")
        yield

    monkeypatch.setattr(opening, "load_entry", unreadable)
    training_runs_until_stopped(window, qtbot)
    b, c = (next(e for e in window.session.project.images if e.name == n) for n in ("b.tif", "c.tif"))
    window.projects.switch_to(b.id)
    qtbot.waitUntil(lambda: not window.training.running and bool(dialogs.errors()), timeout=60_000)
    wait_idle(qtbot, window)
    assert window.document.name == "a.tif" and not window.training.running
    assert len(window.session.project.models) == 1 and "b.tif: unreadable" in dialogs.errors()[0][2]
    monkeypatch.setattr(opening, "load_entry", load)
    window.projects.switch_to(c.id)
    qtbot.waitUntil(lambda: window.document.name == "c.tif", timeout=60_000)
    qtbot.wait(200)
    assert not window.training.running and len(window.session.project.models) == 1


def test_opening_an_image_of_another_project_while_training_goes_on_starts_nothing(window, qtbot, tmp_path,
                                                                                   dialogs, monkeypatch):
    """The user shows another image of the project (training is to go on there), then opens an
    image of another project before the run has ended ("Stop training?" Yes): the run is kept
    in its project, and no run starts by itself on the other project's image."""
    import threading

    from unet_studio.gui.training import live_training

    open_painted_image(window, qtbot, tmp_path, "a.tif")
    write_image(tmp_path / "b.tif", seed=5)
    write_image(tmp_path / "elsewhere" / "c.tif", seed=6)
    window.project_images.add_images([str(tmp_path / "b.tif")])
    wait_idle(qtbot, window)
    first_project = window.session.project
    b_shown, run = threading.Event(), live_training.training_run
    starts: list[bool] = []
    window.training.running_changed.connect(lambda on: on and starts.append(on))

    def ends_when_let(*args):
        yield from run(*args)
        b_shown.wait(60)

    monkeypatch.setattr(live_training, "training_run", ends_when_let)
    training_runs_until_stopped(window, qtbot)
    show_project_image(window, qtbot, "b.tif")
    threading.Timer(1.0, b_shown.set).start()               # the run ends as c.tif comes up
    window.open_files([str(tmp_path / "elsewhere" / "c.tif")])   # "Stop training and open another image?" Yes
    qtbot.waitUntil(lambda: window.document is not None and window.document.name == "c.tif", timeout=60_000)
    qtbot.waitUntil(lambda: not window.training.running, timeout=60_000)
    qtbot.wait(300)
    assert starts == [True] and not window.training.running
    assert window.session.project is not first_project and len(first_project.models) == 1


def test_the_system_quitting_during_training_keeps_the_run_without_asking(make_window, qtbot, tmp_path,
                                                                            dialogs):
    """SIGTERM (the session ends) while training runs: the window quits without a question and
    the run's model is in the project, as with File > Quit."""
    import signal

    from unet_studio.gui.app import quit_on_signals

    window = make_window()
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        quit_on_signals(window)
        open_painted_image(window, qtbot, tmp_path)
        training_runs_until_stopped(window, qtbot)
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)   # what the signal runs
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
    assert not window.pool.running and not dialogs.questions()
    again = make_window()
    again.open_files([str(tmp_path / "cells.tif")])
    wait_showing(qtbot, again, "cells.tif")
    assert len(again.session.project.models) == 1 and again.session.project.models.current.steps >= 1
