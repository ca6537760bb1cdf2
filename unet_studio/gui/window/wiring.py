"""Which command and which signal goes where, for the whole window: the one place where the
parts the main window made meet. Controllers are given their collaborators when made
(MainWindow._make_controllers) and report through signals connected here."""
from __future__ import annotations

from unet_studio.gui.viewer.tool_state import BRUSH, ERASER, FILL
from unet_studio.workflow.export import KINDS, MASK


def menu_slots(window) -> dict:
    """What each menu command (window/actions.py) does."""
    exporter, commands, images = window.exporter, window.project_commands, window.project_images
    tools = window.tools
    step = window.editing.step_plane
    return {
        "open": window.open_dialog, "open_zarr": window.open_zarr_dialog, "sample": window.open_sample, "new_project": commands.new_project,
        "open_project": commands.open_project, "save_as": commands.save_as,
        "add_images": lambda: images.add_images(), "save_now": window.save_now,
        **{f"export_{what}": (lambda what=what: exporter.export(what)) for what in KINDS},
        "export_labels": exporter.labels, "export_bioimageio": exporter.bioimageio,
        "start_from_file": window.project_models.start_from_file,
        "export_model": exporter.model, "export_bundle": commands.export_bundle, "quit": window.close,
        "undo": window.editing.undo, "redo": window.editing.redo,
        "brush": lambda: tools.set_tool(BRUSH), "eraser": lambda: tools.set_tool(ERASER),
        "fill": lambda: tools.set_tool(FILL),
        "bigger": tools.grow_brush, "smaller": tools.shrink_brush,
        **{f"class{k}": (lambda k=k: window.classes_panel.select(k)) for k in range(1, 10)},
        "fit": window.canvas.fit, "toggle_overlay": window.overlay_panel.toggle,
        "next_z": lambda: step(0, 1), "previous_z": lambda: step(0, -1),
        "next_t": lambda: step(1, 0), "previous_t": lambda: step(-1, 0),
        "train": window.training.toggle, "predict_all": window.stack_jobs.predict_all,
        "predict_images": commands.predict_all_images,
        "new_model": window.project_models.start_new_model,
        "model_view": window.show_model_view, "keys": window.show_shortcuts,
    }


def connect_parts(window) -> None:
    """Every signal between the parts, in one place (order matters where noted)."""
    session, projects, commands = window.session, window.projects, window.project_commands
    models, images = window.project_models, window.project_images
    # The status note first, then the question (the note is what stays).
    session.autosave_failed.connect(window.saved_state.note_failed)
    session.autosave_failed.connect(commands.autosave_failed)
    session.labels_saved.connect(images.labels_saved)
    session.labels_saved.connect(window.saved_state.note_saved)
    session.labels_saved.connect(commands.labels_saved)
    session.project_changed.connect(projects.refresh)
    session.images_changed.connect(images.refresh_images)
    session.models_changed.connect(models.refresh)
    window.training.model_kept.connect(commands.model_kept)
    window.training.model_kept.connect(models.refresh)
    window.training.model_ready.connect(commands.model_ready)
    window.training.keep_failed.connect(commands.keep_failed)
    window.training.running_changed.connect(window.plane_predictor.set_paused)
    window.training.running_changed.connect(window.stack_jobs.set_training)
    window.training.running_changed.connect(window.objects.set_training)
    window.training.running_changed.connect(window.models_panel.set_training)
    for controller in (projects, images, commands, window.editing):
        controller.status_message.connect(window.status_line.show_message)
    projects.image_to_show.connect(window.show_image)
    projects.image_not_shown.connect(window.training.forget_going_on)
    projects.image_file_opened.connect(window.recent.remember_file)
    projects.project_folder_opened.connect(window.recent.remember_project)
    images.image_to_show.connect(window.show_image)
    images.images_listed.connect(window.show_images)
    images.show_asked.connect(projects.switch_to)
    images.open_asked.connect(projects.open_files)
    projects.all_labels_written.connect(window.saved_state.note_saved)
    projects.save_copy_asked.connect(commands.save_as)
    commands.bundle_asked.connect(window.stack_jobs.export_bundle)
    commands.images_prediction_asked.connect(   # with the objects the Objects panel counts
        lambda entries, folder: window.stack_jobs.predict_all_images(entries, folder,
                                                                     window.objects_panel.export_choice()))
    models.models_listed.connect(window.models_panel.set_models)
    window.models_panel.model_chosen.connect(models.use_model)
    window.models_panel.new_model_asked.connect(models.start_new_model)
    window.images_panel.image_chosen.connect(projects.switch_to)
    window.images_panel.files_dropped.connect(images.add_images)
    window.images_panel.add_clicked.connect(lambda: images.add_images())
    window.images_panel.remove_clicked.connect(images.remove_image)
    window.images_panel.locate_clicked.connect(images.locate)
    window.start_view.open_clicked.connect(window.open_dialog)
    window.start_view.sample_clicked.connect(window.open_sample)
    window.start_view.recent_chosen.connect(window.open_path)
    window.start_view.new_project_clicked.connect(commands.new_project)
    window.start_view.open_project_clicked.connect(commands.open_project)
    window.start_view.recent_project_chosen.connect(projects.open_project)
    window.predict_panel.predict_images_clicked.connect(commands.predict_all_images)
    window.export_button.clicked.connect(lambda: window.exporter.export(MASK))
    window.canvas.stroke_finished.connect(session.stroke_ended)
    window.canvas.cursor_moved.connect(window.status_line.show_pixel)
    window.plane_keys.step.connect(window.editing.step_plane)
    def view_moved(*_args) -> None:
        # Training previews of a big plane are computed only where the user has zoomed in.
        window.training.visible_region = window.canvas.visible_region()

    window.canvas.view.sigRangeChanged.connect(view_moved)
