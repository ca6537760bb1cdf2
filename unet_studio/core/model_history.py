"""The models a project has trained: kept in models/, one marked current, none deleted."""
from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Callable

from unet_studio.core.errors import ProjectError
from unet_studio.core.project_file import ModelEntry, now_text
from unet_studio.core.project_paths import MODELS_DIR, TRAINING_LOG, copy_file
from unet_studio.core.project_safety import inside_project


class ModelHistory:
    """Ordered list of ModelEntry (oldest first); at most one has current=True."""

    def __init__(self, entries: list[ModelEntry] | None = None):
        self.entries: list[ModelEntry] = list(entries or [])
        # A hand-edited file may mark several as current: keep the newest of them.
        current = [e for e in self.entries if e.current]
        for e in current[:-1]:
            e.current = False

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def current(self) -> ModelEntry | None:
        return next((e for e in self.entries if e.current), None)

    def get(self, model_id: str) -> ModelEntry:
        for e in self.entries:
            if e.id == model_id:
                return e
        raise ProjectError(f"there is no model {model_id!r} in this project")

    def set_current(self, model_id: str | None) -> ModelEntry | None:
        """Make `model_id` the current model; None: none is (the next training starts a new one)."""
        chosen = None if model_id is None else self.get(model_id)
        for e in self.entries:
            e.current = e is chosen
        return chosen

    def new_entry(self, folder: Path, *, steps=None, loss=None, info=None) -> ModelEntry:
        """An entry (not yet added) with a fresh file name models/<time>.pt under `folder`."""
        model_id = self.free_id(datetime.now().strftime("%Y%m%d-%H%M%S"), folder)
        if loss is not None:
            loss = float(loss)
            loss = loss if math.isfinite(loss) else None  # JSON has no NaN
        return ModelEntry(
            id=model_id,
            file=f"{MODELS_DIR}/{model_id}.pt",
            time=now_text(),
            steps=None if steps is None else int(steps),
            loss=loss,
            info=dict(info or {}),
        )

    def free_id(self, wanted: str, folder: Path | None = None) -> str:
        """`wanted`, or `wanted`-2, -3, ...: an id no entry has (nor, with `folder`, a file
        models/<id>.pt there)."""
        taken = {e.id for e in self.entries}
        model_id, n = wanted, 1
        while model_id in taken or (folder is not None and (folder / MODELS_DIR / f"{model_id}.pt").exists()):
            n += 1
            model_id = f"{wanted}-{n}"
        return model_id

    def add(self, entry: ModelEntry, *, current: bool = True) -> None:
        """Append `entry` and (unless `current` is False) make it the current model."""
        self.entries.append(entry)
        if current:
            self.set_current(entry.id)


def trainings(entries: list[ModelEntry]) -> list[list[ModelEntry]]:
    """The entries (oldest first) as the trainings the user started: each a list, oldest
    first, of a run the user started and the runs that went on from it by themselves when
    the user showed another image (info "went_on", "started_from" the run before). To the user
    that is one training; each run's model is still its own entry."""
    chains: list[list[ModelEntry]] = []
    chain_of: dict[str, list[ModelEntry]] = {}
    for entry in entries:
        info = entry.info or {}
        before = chain_of.get(info.get("started_from")) if info.get("went_on") else None
        if before is not None and before[-1].id == info.get("started_from"):
            before.append(entry)
            chain_of[entry.id] = before
        else:
            chains.append([entry])
            chain_of[entry.id] = chains[-1]
    return chains


def training_steps(chain: list[ModelEntry]) -> int | None:
    """The steps of a training's runs together (None if no run says)."""
    steps = [e.steps for e in chain if e.steps is not None]
    return sum(steps) if steps else None


def steps_up_to(entries: list[ModelEntry], entry_id: str) -> int:
    """The steps of the training run `entry_id` belongs to, up to and including that run."""
    for chain in trainings(entries):
        ids = [e.id for e in chain]
        if entry_id in ids:
            return training_steps(chain[:ids.index(entry_id) + 1]) or 0
    return 0


def _file_time(path: Path) -> str:
    """When `path` was last written, as project.json writes times."""
    return datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds")


def append_log(path: Path, record: dict) -> None:
    """Append `record` as one JSON line (with "time" unless given), synced to disk.

    Appending is not atomic, but a line cut short by a crash is only skipped by read_log."""
    line = json.dumps({"time": now_text(), **record}, default=str)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_log(path: Path) -> list[dict]:
    """The records of a JSON-lines log; unreadable lines are skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


class ProjectModelsMixin:
    """Models and training log for Project (uses its folder, models, _state_lock,
    ensure_created, _saving and _save_structure)."""

    def model_path(self, model: "ModelEntry | str") -> Path:
        entry = model if isinstance(model, ModelEntry) else self.models.get(model)
        return self.folder / entry.file

    def current_model_path(self) -> Path | None:
        current = self.models.current
        return None if current is None else self.folder / current.file

    def add_model(
        self, save: Callable[[Path], None], *, steps=None, loss=None, info: dict | None = None
    ) -> ModelEntry:
        """Keep a trained model: `save(path)` writes it (atomically) to models/<time>.pt;
        it becomes the current model. Older models are kept."""
        with self._state_lock:
            self.ensure_created()
            entry = self.models.new_entry(self.folder, steps=steps, loss=loss, info=info)
            with self._saving(self.folder, "the model"):
                (self.folder / MODELS_DIR).mkdir(exist_ok=True)
                save(inside_project(self.folder, entry.file, "the new model"))
            self.models.add(entry)
            self._save_structure()
            return entry

    def import_model(self, path: str | Path, **kwargs) -> ModelEntry:
        """Copy an existing model file into the project (see add_model)."""
        source = Path(path)
        if not source.is_file():
            raise ProjectError(f"{source} does not exist")
        return self.add_model(lambda target: copy_file(source, target), **kwargs)

    def set_current_model(self, model_id: str | None) -> ModelEntry | None:
        """See ModelHistory.set_current (None: the next training starts a new model); saved."""
        with self._state_lock:
            entry = self.models.set_current(model_id)
            self._save_structure()
            return entry

    def log_training(self, record: dict) -> None:
        """Append one record (a JSON object; "time" added if absent) to the training log."""
        with self._state_lock:
            self.ensure_created()
            with self._saving(self.folder, "the training log"):
                append_log(inside_project(self.folder, TRAINING_LOG, "the training log"), record)

    def recover_unlisted_models(self) -> list[ModelEntry]:
        """Models in models/ that project.json does not list (written by a run whose entry a
        crash, or another window, never let reach project.json) listed again, oldest first,
        with their steps, loss and details from the training log where it has them; none
        becomes current. Returns them (the caller saves)."""
        with self._state_lock:
            listed = {Path(e.file).as_posix() for e in self.models}
            folder = self.folder / MODELS_DIR
            files = sorted((p for p in folder.glob("*.pt") if p.is_file() and not p.is_symlink()
                            and f"{MODELS_DIR}/{p.name}" not in listed),
                           key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
            runs = {r.get("model"): r for r in self.training_log() if r.get("event") == "training"} if files else {}
            found = []
            for path in files:
                relative = f"{MODELS_DIR}/{path.name}"
                run = runs.get(path.stem, {})
                info = {k: v for k, v in run.items() if k not in ("time", "event", "model", "steps", "loss")}
                entry = ModelEntry(id=self.models.free_id(path.stem), file=relative,
                                   time=run.get("time") or _file_time(path),
                                   steps=run.get("steps") if isinstance(run.get("steps"), int) else None,
                                   loss=run.get("loss") if isinstance(run.get("loss"), (int, float)) else None,
                                   info={**info, "recovered": True})
                self.models.add(entry, current=False)
                found.append(entry)
            return found

    def training_log(self) -> list[dict]:
        """All records of the training log (a line cut short by a crash is skipped)."""
        return read_log(self.folder / TRAINING_LOG)
