"""Batch prediction on a dask.distributed cluster: `unet-studio predict ... --workers N` (a
LocalCluster of N processes on this machine) or `--scheduler ADDRESS` (a cluster already
running: SLURM, PBS or Kubernetes through dask-jobqueue / dask-kubernetes).

Each image is one task, which predicts it and writes its files as a set (workflow/export.py,
output_set.py), exactly as the single-process run does, so the results are the same files; a
volume written as OME-Zarr is shared out as tasks of a few planes each (cluster_volume.py).
The model file's bytes are sent to each worker once and loaded there once. A worker that
dies mid-task loses only that task's temporary files; the scheduler runs the task again on
another worker. A task whose result was read is released at once, so a worker that dies later
holding that result does not make the scheduler run it again. Optional: `pip install 'unet_studio[cluster]'`.
"""
from __future__ import annotations

import hashlib
from collections import Counter
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from unet_studio.core.errors import UnetStudioError
from unet_studio.workflow.batch import BatchStep, ImageOutputs, predict_image
from unet_studio.workflow.export import OME_ZARR, PredictionOptions, prepared

INSTALL_HINT = "--workers and --scheduler need the optional packages: pip install 'unet_studio[cluster]'"
# Models loaded in this (worker) process, by the digest of their file's bytes.
_LOADED: dict[str, Any] = {}
_PREPARED: dict[tuple, Any] = {}   # (digest, views) -> the model's InferenceNet, in a worker


def predict_on_cluster(model_path: str | Path, plan: list[ImageOutputs],
                       options: PredictionOptions = PredictionOptions(), *, workers: int | None = None,
                       scheduler: str | None = None) -> Iterator[BatchStep]:
    """Predict `plan` on a cluster; yields a BatchStep as each image finishes (in the order
    they finish): `written`, or `skipped` with the reason the image failed."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UnetStudioError(INSTALL_HINT) from None
    cluster = None
    threads = 1   # a cluster's workers are one per core, as dask-jobqueue starts them
    if scheduler is None:
        from unet_studio.ml.device import cpu_cores

        threads = max(1, cpu_cores() // (workers or 1))   # this machine's cores shared out
        cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    try:
        client = Client(cluster if cluster is not None else scheduler)
    except (OSError, ValueError, TypeError) as e:   # ValueError, TypeError: an address of no known form
        if cluster is not None:
            cluster.close()
        reason = " ".join(str(e).split())[:200]
        raise UnetStudioError(f"cannot reach the scheduler {scheduler} ({reason}); an address looks like "
                              "tcp://host:8786") from None
    volumes: dict = {}   # the images whose planes are shared out (cluster_volume.py), by position
    try:
        blob = Path(model_path).read_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        model = client.scatter(blob, broadcast=True, hash=False)   # sent once to each worker
        volumes.update(_shared_volumes(model_path, plan, options))
        share = {i: 1 / len(volumes[i].ranges) if i in volumes else 1.0 for i in range(len(plan))}
        futures = {}
        for i, item in enumerate(plan):
            if i in volumes:
                for first, stop in volumes[i].ranges:
                    futures[client.submit(_predict_range, model, digest, item, volumes[i].temps,
                                          first, stop, volumes[i].normalisation, options, threads, pure=False,
                                          key=f"predict-{i}-{first}-{digest[:8]}")] = i
            else:
                futures[client.submit(_predict_one, model, digest, item, options, threads,
                                      pure=False, key=f"predict-{i}-{digest[:8]}")] = i
        left = Counter(futures.values())   # tasks not finished yet, per image
        done, failed = 0.0, set()
        for future in as_completed(futures):
            i = futures.pop(future)
            left[i] -= 1
            done += share[i]
            try:
                written, failure = future.result()
            except Exception as e:  # noqa: BLE001 - a task that failed on its worker: named, the rest go on
                written, failure = None, f"{plan[i].name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
            future.release()   # read: a worker that dies holding its result must not run it again
            if i in failed:
                failure = None     # its failure is named once
            elif i in volumes:
                written, failure = _volume_step(volumes, i, left[i], failure)
            if failure:
                failed.add(i)
            fraction = min(done / len(plan), 1.0) if any(left.values()) else 1.0
            yield BatchStep(fraction, i, written=[Path(p) for p in written] if written else None, skipped=failure)
    finally:
        for volume in volumes.values():
            volume.discard()   # what a stop or a failure left unfinished
        client.close()
        if cluster is not None:
            cluster.close()


def _predict_one(blob: bytes, digest: str, item: ImageOutputs, options: PredictionOptions,
                 threads: int) -> tuple[list[str] | None, str | None]:
    """On a worker: predict one image into its set of files, as the single process does
    (batch.predict_image), with `threads` torch threads; (written paths, None) or (None, why it
    failed in one line)."""
    import torch

    torch.set_num_threads(threads)
    written = failure = None
    model = _model(blob, digest)
    for _, written, failure in predict_image(model, item, options, inference=_prepared(model, digest, options)):
        pass
    return ([str(p) for p in written] if written else None), failure


def _shared_volumes(model_path, plan: list[ImageOutputs], options: PredictionOptions) -> dict:
    """The images of `plan` whose planes go to several tasks (cluster_volume.py), by position,
    with their files made and their scaling measured."""
    from unet_studio.workflow.batch import make_folder
    from unet_studio.workflow.cluster_volume import SharedVolume, shared_out

    if options.format != OME_ZARR:
        return {}
    volumes, model = {}, None
    for i, item in enumerate(plan):
        try:
            with item.open() as stack:
                if not shared_out(stack, item.targets, options):
                    continue
                if model is None:
                    from unet_studio.ml.model_file import load_model

                    model = load_model(model_path, "cpu")
                make_folder(next(iter(item.targets.values())).parent)
                volumes[i] = SharedVolume(model, stack, item.targets, options)
        except UnetStudioError:
            continue   # its one task names the failure
    return volumes


def _volume_step(volumes: dict, i: int, left: int, failure: str | None) -> tuple[list | None, str | None]:
    """(written, failure) of a shared volume after one of its tasks: the set swapped in when its
    last task is done, discarded at its first failure."""
    volume = volumes[i]
    if failure is not None:
        volume.discard()
        del volumes[i]
        return None, failure
    if left:
        return None, None
    written = volume.finish()
    del volumes[i]
    return written, None


def _predict_range(blob: bytes, digest: str, item: ImageOutputs, temps: dict[str, str], first: int, stop: int,
                   normalisation: dict, options: PredictionOptions, threads: int) -> tuple[None, None]:
    """On a worker: planes first..stop-1 of a shared volume (cluster_volume.predict_range)."""
    import torch

    from unet_studio.workflow.cluster_volume import predict_range

    torch.set_num_threads(threads)
    predict_range(_model(blob, digest), item, temps, first, stop, normalisation, options)
    return None, None


def _model(blob: bytes, digest: str):
    """The model of these bytes, loaded once per worker process."""
    if digest not in _LOADED:
        from unet_studio.ml.model_file import load_model

        folder = tempfile.mkdtemp(prefix="unet_studio-model-")
        path = Path(folder) / "model.pt"
        try:
            path.write_bytes(blob)
            model = load_model(path, "cpu")   # every check a model file gets
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        _LOADED.clear()
        _LOADED[digest] = model
    return _LOADED[digest]


def _prepared(model, digest: str, options: PredictionOptions):
    """The model prepared for prediction with the options' views, once per worker process."""
    key = (digest, options.views)
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = prepared(model, options)
    return _PREPARED[key]
