"""Training as a generator: each `next()` runs training steps and reports progress.

The caller (a QThread worker in the app, a loop in the CLI) decides when to stop: closing the
generator stops between two steps, `should_stop()` returning True ends with a final report,
and a time or step budget ends it by itself. The model in each report is the live one, so
stopping at any point keeps everything learned so far.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch

from unet_studio import __version__
from unet_studio.core.errors import ModelError, TrainingInputError
from unet_studio.ml.augment import elastic_deform, jitter_intensity
from unet_studio.ml.class_shares import SHARES_TIME, ClassShares
from unet_studio.ml.consistency import FlipConsistency
from unet_studio.ml.corrections import Corrections, strokes_differ
from unet_studio.ml.data import TrainingSet
from unet_studio.ml.device import (adamw, autocast, default_width, device_name, is_out_of_memory,
                                   make_grad_scaler, pick_device, training_memory_format)
from unet_studio.ml.loss import edge_aware_smoothness, labeled_cross_entropy, labels_to_target
from unet_studio.ml.model_file import Model, class_dicts
from unet_studio.ml.normalise import HIGH_PCT, LOW_PCT
from unet_studio.ml.live_preview import live_preview
from unet_studio.ml.predict import Prediction
from unet_studio.ml.recipe import fine_tuning_recipe, plain_recipe
from unet_studio.ml.remember import Remembering
from unet_studio.ml.schedule import lr_factor, next_due, set_batchnorm_momentum
from unet_studio.ml.starting_model import (asks_for_starting_arch, for_classes,
                                           is_fine_tuned_from_starting_model, load_starting_model,
                                           starting_arch)
from unet_studio.ml.unet import OutConv, UNet
from unet_studio.ml.weight_average import WeightAverage, pull_toward


@dataclass
class TrainConfig:
    """How to train. Budgets: whichever of time_budget / steps comes first; neither = until stopped."""
    time_budget: float | None = None
    steps: int | None = None
    seed: int | None = None
    device: str = "auto"
    width: int | None = None        # None: default_width(device). Ignored when fine-tuning.
    depth: int = 4
    norm: str = "batch"
    padding: str = "same"
    batch: int = 4
    patch: int = 128                # multiple of 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    augment: bool = True
    elastic: bool = True
    border_weight: bool = False
    balance_classes: bool = True    # weight classes by inverse label frequency in each batch
    class_shares: bool = True       # an output layer learned from the strokes alone predicts with
                                    # the images' class shares (ml/class_shares.py)
    # Without init: fine-tune the built-in starting model (ml/starting_model.py) when the
    # architecture asked for is its own (width None or equal, depth, padding); else from scratch.
    starting_model: bool = True
    finetune_lr: float = 3e-4       # lr when fine-tuning a starting model that explains the strokes
                                    # (its features are kept); one that does not gets `lr`
    average_weights: float = 0.99   # decay of the weight average the user sees (0: last weights)
    smoothness_weight: float = 0.5  # edge-aware smoothness on all pixels (0: off), see loss.py
    smoothness_sigma: float = 0.15
    anchor: float = 10.0            # fine-tuning a starting model that explains the strokes: each
                                    # step pulls every layer but the output layer back toward its
                                    # starting weights by anchor * lr (decoupled L2-SP, Li et al.
                                    # 2018); 0: off
    remember: float = 50.0          # when fine-tuning the starting model: how strongly its own outputs
                                    # (background / object / boundary) are kept, times how well it
                                    # already explains the strokes (ml/remember.py); 0: off
    flip_consistency: float = 1.0   # unlabeled pixels: the answer on the patch flipped both ways
    consistency_after: int = 150    # is a soft target where sure, from this step on (a model's
                                    # earlier runs count; ml/consistency.py); 0 weight: off
    keep_before_corrections: float = 3.0   # strokes painted while training: how strongly the answer
                                    # shown before them is kept elsewhere (ml/corrections.py); 0: off
    preview_every: float = 3.0      # seconds between live previews, at the least
    preview_share: float = 0.25     # previews take at most this share of the time: a preview
                                    # that took d seconds waits d * (1 - share) / share before
                                    # the next (a whole 2048² plane on a CPU: 2.5 s -> 7.5 s)
    report_every: float = 0.2


@dataclass
class TrainProgress:
    """One report from train(). `loss`: the cross-entropy on the painted pixels, the mean over
    the steps since the previous report (the terms that keep or smooth the answers elsewhere are
    trained on but not in it, so it measures the fit to the strokes alone)."""
    step: int
    loss: float
    elapsed: float
    patches_per_s: float
    device: str
    batch: int
    model: Model
    preview: Prediction | None = None
    preview_for: tuple | None = None
    message: str = ""
    done: bool = False
    lr: float = 0.0
    labeled: list[int] = field(default_factory=list)   # labeled pixels per class, now


def train(images: list[Any], labels: list[Any], classes: list[Any], config: TrainConfig | None = None,
          init: Model | None = None, preview_request: Callable[[], tuple | None] | None = None,
          should_stop: Callable[[], bool] | None = None) -> Iterator[TrainProgress]:
    """Train (or fine-tune `init`) a U-Net on images with sparse labels; see module docstring.

    images: core Stacks (or arrays (C, Y, X) / (Y, X)); labels: a LabelVolume (or array) per
    image, 0 = unlabeled, k = classes[k-1]. preview_request() -> (image_index, t, z) or
    (image_index, t, z, (y0, y1, x0, x1)) or None, asked every `preview_every` seconds.
    Raises TrainingInputError at once (before the first step) for unusable input.
    """
    config = config or TrainConfig()
    if config.patch % 16 or config.patch < 16:
        raise TrainingInputError(f"patch size must be a multiple of 16, not {config.patch}")
    if config.batch < 1:
        raise TrainingInputError("batch size must be at least 1")
    classes = class_dicts(classes)
    if len(classes) < 2:
        raise TrainingInputError("at least two classes are needed (e.g. background and objects)")
    data = TrainingSet(images, labels, len(classes), seed=config.seed)
    if init is not None and init.in_channels != data.in_channels:
        raise TrainingInputError(f"the starting model takes {init.in_channels} channel(s), "
                                 f"the images have {data.in_channels}")
    device = pick_device(config.device)
    # Trained again from the user's model, with its output layer: after painting, what it showed
    # is kept (corrections.py); the steps it trained count (consistency.py).
    goes_on = init is not None and init.n_classes == len(classes)
    painted_since = goes_on and strokes_differ(init.summary, data.labeled_counts(), data.strokes_digest())
    trained_before = _steps_trained(init.summary) if goes_on else 0
    agreement_before = init.summary.get("starting_model_agreement") if init is not None else None
    starting_message = ""
    untouched = None   # the starting model as shipped, when fine-tuning it
    if init is None and config.starting_model and asks_for_starting_arch(config.width, config.depth,
                                                                           config.padding):
        try:
            untouched = load_starting_model(starting_arch()["n_classes"], data.in_channels)
            init = for_classes(untouched.copy(), len(classes), classes, new_layer=True)   # read once
        except (FileNotFoundError, ModelError) as e:
            starting_message = f"training from scratch: no usable starting model ({e})"
    seed = config.seed if config.seed is not None else int(np.random.SeedSequence().entropy % (2 ** 31))
    torch.manual_seed(seed)
    net, message = _build_net(data.in_channels, len(classes), config, device, init)
    message = "fine-tuning the built-in starting model" if untouched is not None else message or starting_message
    model = Model(net, classes, {"method": "percentile", "low_pct": LOW_PCT, "high_pct": HIGH_PCT,
                                 "training_images": [n.to_dict() for n in data.normalisations]},
                  dict(init.summary) if init is not None else {}, __version__)
    if untouched is None and init is not None and is_fine_tuned_from_starting_model(init):
        untouched = load_starting_model(starting_arch()["n_classes"], data.in_channels)
    if untouched is not None:
        # Fine-tuning the starting model (also when the user trains again from a model
        # fine-tuned that way): how far it explains the strokes chooses the recipe.
        return _loop(data, model, config, device, seed, message, preview_request, should_stop,
                     painted_since, trained_before,
                     Remembering(untouched.net, config.remember, device, agreement_before))
    return _loop(data, model, config, device, seed, message, preview_request, should_stop, painted_since,
                 trained_before)


def _steps_trained(summary: dict) -> int:
    """Training steps behind a model with this summary, over all its runs (0 if it does not say)."""
    return int(summary.get("steps") or 0) + int(summary.get("fine_tuned_after_steps") or 0)


def _build_net(in_channels: int, n_classes: int, config: TrainConfig, device: torch.device,
               init: Model | None) -> tuple[UNet, str]:
    if init is None:
        width = config.width or default_width(device)
        net = UNet(in_channels, n_classes, config.depth, width, config.norm, config.padding)
        message = ""
    else:
        a = init.arch
        net = UNet(in_channels, a["n_classes"], a["depth"], a["width"], a["norm"], a["padding"])
        net.load_state_dict(init.net.state_dict())
        net.outc.class_shift.copy_(init.net.outc.class_shift)   # measured, not in the state dict
        message = f"continuing from the current model ({init.n_classes} classes)"
        if a["n_classes"] != n_classes:
            net.outc = OutConv(net.outc.in_channels, n_classes)
            net.arch["n_classes"] = n_classes
            message = (f"output layer replaced: {n_classes} classes, the model had {init.n_classes}; "
                       "the rest of the network is fine-tuned")
    return net.to(device, memory_format=training_memory_format(device)).train(), message


def _loop(data: TrainingSet, model: Model, config: TrainConfig, device: torch.device, seed: int,
          message: str, preview_request, should_stop, painted_since: bool = False, trained_before: int = 0,
          starting: Remembering | None = None) -> Iterator[TrainProgress]:
    """The training loop; `starting`: the untouched starting model when fine-tuning it;
    `trained_before`: steps the model trained in earlier runs (flip consistency counts them)."""
    net = model.net
    margin = net.margin()
    in_size = net.input_size_for(config.patch + 2 * margin)
    batch = config.batch
    start = time.perf_counter()   # the budget counts measuring trust too
    agreement = None
    if starting is None:
        recipe = plain_recipe(config)
    else:
        agreement = starting.measure_trust_on(data, seed, batch, in_size, margin, device)
        recipe = fine_tuning_recipe(config, starting)
        message = f"{message}; {recipe.said}"
        starting.start_head(net.outc)
        starting = None   # the untouched model stays in memory only if the recipe remembers it
    shares = None
    if recipe.class_shares:
        shares = ClassShares(data, seed, in_size, margin, device)
    else:   # a shift measured for a layer that learned from the strokes alone is not this one's
        net.outc.class_shift.zero_()
        model.summary.pop("class_shares", None)
    # The user sees (previews, Stop, the saved model) the average of recent weights.
    average = WeightAverage(net, recipe.average_weights) if recipe.average_weights > 0 else None
    if average is not None:
        model.net = average.net
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = adamw(net.parameters(), lr=recipe.lr, weight_decay=config.weight_decay)
    remember, anchor, smoothness = recipe.remember, recipe.anchor, recipe.smoothness
    next_shares = start + config.preview_every
    if remember is not None:
        opt.add_param_group({"params": list(remember.parameters())})
    # Every layer but the output layer (the user's classes) remembers where it started.
    anchored = [p for name, p in net.named_parameters() if not name.startswith("outc.")] if anchor > 0 else []
    anchors = (anchored, [p.detach().clone() for p in anchored])
    scaler = make_grad_scaler(device)
    layout = training_memory_format(device)   # of the patches, as the network's (_build_net)
    batchnorms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    name = device_name(device)
    step, patches = 0, 0
    loss_sum = torch.zeros((), device=device)
    loss_n = 0
    last_report = start
    next_preview = start + config.preview_every
    window_start, window_patches = start, 0
    pending_message = message
    last_loss = float("nan")
    told_new_class = False
    corrections = Corrections(config.keep_before_corrections, net=net, shown=net if painted_since else None)
    flips = FlipConsistency(config.flip_consistency, config.consistency_after - trained_before, net)

    def report(done: bool, preview=None, preview_for=None) -> TrainProgress:
        nonlocal loss_sum, loss_n, window_start, window_patches, pending_message, last_report, last_loss
        now = time.perf_counter()
        loss = last_loss = float(loss_sum) / loss_n if loss_n else last_loss
        rate = window_patches / max(now - window_start, 1e-9)
        progress = TrainProgress(step, loss, now - start, rate, name, batch, model, preview, preview_for,
                                 pending_message, done, opt.param_groups[0]["lr"],
                                 [int(v) for v in data.labeled_counts()])
        loss_sum = torch.zeros((), device=device)
        loss_n, window_start, window_patches, pending_message, last_report = 0, now, 0, "", now
        return progress

    def finished() -> bool:
        elapsed = time.perf_counter() - start
        return bool((config.steps is not None and step >= config.steps)
                    or (config.time_budget is not None and elapsed >= config.time_budget)
                    or (should_stop is not None and should_stop()))

    try:
        while not finished():
            if data.refresh():
                pending_message = pending_message or "labels changed: using the new strokes"
                if step > 0:
                    corrections.strokes_changed(model.net)
                if shares is not None:
                    shares.redraw()
                if data.new_classes_seen and not told_new_class:
                    told_new_class = True
                    pending_message = "a new class was painted: stop and train again to learn it"
            images, labels, weights = data.sample(rng, batch, in_size, config.border_weight)
            for g in opt.param_groups:
                g["lr"] = recipe.lr * lr_factor(config, step, time.perf_counter() - start)
            set_batchnorm_momentum(batchnorms, step)
            try:
                loss = _step(net, opt, scaler, device, config, gen, images, labels, weights, margin, smoothness,
                             remember, layout, corrections, flips if flips.applies(step) else None)
                if anchored:
                    pull_toward(*anchors, anchor * opt.param_groups[0]["lr"])
                if average is not None and loss is not None:
                    average.update(net)
            except RuntimeError as e:
                if not (is_out_of_memory(e) and batch > 1):
                    raise
                opt.zero_grad(set_to_none=True)
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                batch //= 2
                pending_message = f"out of GPU memory: batch size reduced to {batch}"
                continue
            if loss is not None:
                loss_sum += loss
                loss_n += 1
            step += 1
            patches += batch
            window_patches += batch
            now = time.perf_counter()
            if shares is not None and now >= next_shares:   # before a preview, which shows them
                shares.measure(model.net, net)
                took = time.perf_counter() - now
                next_shares = next_due(now, took, config.preview_every, SHARES_TIME)
            if preview_request is not None and now >= next_preview:
                request = preview_request()
                preview = live_preview(model, data, request, device) if request is not None else None
                took = time.perf_counter() - now
                next_preview = next_due(now, took, config.preview_every, config.preview_share)
                if preview is not None:
                    yield report(False, preview, tuple(request))
                    continue
            if now - last_report >= config.report_every or step == 1:
                yield report(False)
        if shares is not None and step > 0:
            shares.measure(model.net, net)
    finally:
        model.summary.update(_summary(data, config, step, patches, time.perf_counter() - start, name,
                                      seed, batch, model.summary))
        if agreement is not None:
            model.summary["starting_model_agreement"] = round(agreement, 3)
        if shares is not None and shares.shares is not None:
            model.summary["class_shares"] = [round(float(v), 3) for v in shares.shares]
        net.eval()
        model.net.eval()
    yield report(True)


def _step(net, opt, scaler, device, config, gen, images, labels, weights, margin, smoothness=0.0,
          remember: Remembering | None = None, layout: torch.memory_format = torch.channels_last,
          corrections: Corrections | None = None, flips: FlipConsistency | None = None):
    """One optimiser step on a batch; returns the loss on the painted pixels (a 0-d tensor, what
    the progress reports) or None if nothing was labeled."""
    x = torch.from_numpy(images).to(device)
    y = torch.from_numpy(labels).to(device)
    w = torch.from_numpy(weights).to(device) if weights is not None else None
    if config.augment:
        if config.elastic:
            x, y, w = elastic_deform(x, y, w, gen)
        x = jitter_intensity(x, gen)
    if margin:
        y = y[:, margin:-margin, margin:-margin]
        w = w[:, margin:-margin, margin:-margin] if w is not None else None
    target = labels_to_target(y)
    if not bool((target >= 0).any()):
        return None
    x = x.contiguous(memory_format=layout)
    with autocast(device):
        features = net.features(x)
        logits = net.outc(features)
        kept = remember.loss(features, x) if remember is not None else None
        before = corrections.loss(x, logits, target) if corrections is not None else None
        flipped = flips.loss(x, logits, target) if flips is not None else None
    strokes = labeled_cross_entropy(logits, target, None if w is None else 1.0 + w, balance=config.balance_classes)
    loss = strokes
    for extra in (kept, before, flipped):
        if extra is not None:
            loss = loss + extra
    if smoothness > 0:
        loss = loss + smoothness * edge_aware_smoothness(logits, x, config.smoothness_sigma)
    opt.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        opt.step()
    return strokes.detach()


def _summary(data: TrainingSet, config: TrainConfig, steps: int, patches: int, seconds: float,
             device: str, seed: int, batch: int, previous: dict) -> dict:
    summary = {
        "steps": steps,
        "seconds": round(seconds, 1),
        "patches": patches,
        "batch": batch,
        "patch": config.patch,
        "device": device,
        "seed": seed,
        "images": [str(getattr(img, "name", "array")) for img in data.images],
        "labeled_pixels": [int(v) for v in data.labeled_counts()],
        "strokes_digest": data.strokes_digest(),
        "border_weight": config.border_weight,
    }
    if previous.get("steps") is not None:
        summary["fine_tuned_after_steps"] = _steps_trained(previous)
    return summary
