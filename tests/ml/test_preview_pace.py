"""Live previews slow down while they barely change and come back at once after new strokes."""
from __future__ import annotations

import time

import numpy as np

from unet_studio.core.labels import LabelVolume
from unet_studio.core.stack import Stack
from unet_studio.ml.predict import Prediction
from unet_studio.ml.schedule import CALM_SLOWDOWN, PreviewPace
from unet_studio.ml.train import TrainConfig, train

from .conftest import TINY


def _mask(changed: int = 0) -> np.ndarray:
    mask = np.ones((100, 100), np.uint8)
    mask.flat[:changed] = 2
    return mask


def test_calm_previews_double_the_wait_up_to_the_slowdown():
    pace = PreviewPace(every=3.0, share=1.0)
    request = (0, 0, 0)
    assert pace.after_preview(0.0, 0.1, request, _mask()) == 3.0          # nothing to compare with
    dues = [pace.after_preview(t, 0.1, request, _mask()) - t for t in (3.0, 9.0, 21.0, 33.0)]
    assert dues == [6.0, 12.0, 3.0 * CALM_SLOWDOWN, 3.0 * CALM_SLOWDOWN]


def test_a_preview_that_changed_brings_back_the_first_pace():
    pace = PreviewPace(every=3.0, share=1.0)
    request = (0, 0, 0)
    pace.after_preview(0.0, 0.1, request, _mask())
    assert pace.after_preview(3.0, 0.1, request, _mask(2)) == 9.0       # 2 of 10,000 px in 3 s: calm
    assert pace.after_preview(9.0, 0.1, request, _mask(200)) == 12.0    # 198 px in 6 s: not calm


def test_another_plane_or_region_is_not_compared():
    pace = PreviewPace(every=3.0, share=1.0)
    pace.after_preview(0.0, 0.1, (0, 0, 0), _mask())
    assert pace.after_preview(3.0, 0.1, (0, 0, 1), _mask()) == 6.0
    assert pace.after_preview(6.0, 0.1, (0, 0, 1, (0, 50, 0, 50)), _mask()[:50, :50]) == 9.0
    assert pace.after_preview(9.0, 0.1, (0, 0, 1, (0, 50, 0, 50)), None) == 12.0   # nothing shown
    assert pace.after_preview(12.0, 0.1, (0, 0, 1, (0, 50, 0, 50)), _mask()[:50, :50]) == 15.0


def test_new_strokes_bring_the_next_preview_forward():
    pace = PreviewPace(every=3.0, share=1.0)
    for t in (0.0, 3.0, 9.0):
        due = pace.after_preview(t, 0.1, (0, 0, 0), _mask())
    assert due == 21.0
    assert pace.strokes_changed(due) == 12.0
    assert pace.after_preview(12.0, 0.1, (0, 0, 0), _mask()) == 18.0     # calm again: from the start
    assert PreviewPace(3.0, 1.0).strokes_changed(5.0) == 5.0              # no preview yet


def test_slow_previews_still_take_at_most_their_share():
    pace = PreviewPace(every=3.0, share=0.25)
    assert pace.after_preview(0.0, 2.0, (0, 0, 0), _mask()) == 8.0


def test_a_run_whose_previews_do_not_change_previews_less_often_until_strokes_are_painted(blob_training,
                                                                                          monkeypatch):
    """The same answer every time: the waits grow to CALM_SLOWDOWN x preview_every; strokes
    painted then bring the next preview within one preview_every."""
    from unet_studio.ml import train as train_module

    image, _, scribbled = blob_training
    stack = Stack.from_array(image, "YX")
    labels = LabelVolume.for_stack(stack)
    labels.data[...] = scribbled
    labels.version += 1
    same = Prediction(np.full((2, 96, 96), 0.5, np.float32))
    monkeypatch.setattr(train_module, "live_preview", lambda *args: same)
    every, shown, painted_at = 0.2, [], []

    def request():
        if len(shown) == 6 and not painted_at:
            with labels.stroke():
                labels.paint_line(0, 0, 5, 5, 5, 30, 2, 2)
            painted_at.append(time.perf_counter())
        return (0, 0, 0)

    config = TrainConfig(time_budget=8.0, seed=0, preview_every=every, preview_share=1.0, **TINY)
    for p in train([stack], [labels], labels.classes, config, preview_request=request):
        if p.preview is not None:
            shown.append(time.perf_counter())
        if len(shown) == 8:
            break
    gaps = np.diff(shown)
    assert min(gaps[2:6]) >= every * CALM_SLOWDOWN - 1e-3   # calm: waits at the slowdown's most
    assert painted_at and gaps[6] < every * CALM_SLOWDOWN * 0.75   # after the strokes: the first pace
