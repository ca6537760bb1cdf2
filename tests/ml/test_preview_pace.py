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


def _shown(pace: PreviewPace, at: float, request=(0, 0, 0), mask=None, took: float = 0.1) -> float:
    """Show a preview at `at`; the wait until the next is due."""
    pace.previewed(at, took, request, _mask() if mask is None else mask)
    return pace.due - at


def test_calm_previews_double_the_wait_up_to_the_slowdown():
    pace = PreviewPace(every=3.0, share=1.0, began=0.0)
    assert pace.due == 3.0
    assert _shown(pace, 3.0) == 3.0                 # nothing to compare with
    assert [_shown(pace, t) for t in (6.0, 12.0, 24.0, 36.0)] == [6.0, 12.0, 3.0 * CALM_SLOWDOWN,
                                                                  3.0 * CALM_SLOWDOWN]


def test_a_preview_that_changed_brings_back_the_first_pace():
    pace = PreviewPace(every=3.0, share=1.0, began=0.0)
    _shown(pace, 0.0)
    assert _shown(pace, 3.0, mask=_mask(2)) == 6.0      # 2 of 10,000 px in 3 s: calm
    assert _shown(pace, 9.0, mask=_mask(200)) == 3.0    # 198 px in 6 s: not calm


def test_another_plane_or_region_is_previewed_at_the_first_pace_and_not_compared():
    pace = PreviewPace(every=3.0, share=1.0, began=0.0)
    for t in (0.0, 3.0, 9.0):
        _shown(pace, t)
    assert pace.due == 21.0
    assert not pace.asks_now(11.9) and pace.asks_now(12.0)   # may be due: which plane is shown?
    assert not pace.wants(12.0, (0, 0, 0))                   # the same one: it waits
    assert pace.wants(12.0, (0, 0, 1)) and pace.wants(12.0, (0, 0, 0, (0, 50, 0, 50)))
    assert not pace.wants(30.0, None)                        # nothing on screen
    assert _shown(pace, 12.0, request=(0, 0, 1)) == 3.0      # not compared with the other plane
    assert _shown(pace, 15.0, request=(0, 0, 1)) == 6.0


def test_new_strokes_bring_the_next_preview_back_to_the_first_pace():
    pace = PreviewPace(every=3.0, share=1.0, began=0.0)
    for t in (0.0, 3.0, 9.0):
        _shown(pace, t)
    assert pace.due == 21.0
    pace.strokes_changed()
    assert pace.due == 12.0
    assert _shown(pace, 12.0) == 3.0 * 2                     # calm again: doubling from the start
    fresh = PreviewPace(3.0, 1.0, began=5.0)
    fresh.strokes_changed()
    assert fresh.due == 8.0                                  # no preview yet: as it was


def test_slow_previews_still_take_at_most_their_share():
    pace = PreviewPace(every=3.0, share=0.25, began=0.0)
    assert _shown(pace, 0.0, took=2.0) == 8.0
    assert not pace.asks_now(7.9)                            # nor does another plane come sooner
    assert _shown(pace, 8.0, took=2.0) == 8.0                # calm: 2 x 3 s, but at least 4 x 2 s


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
    assert min(gaps[2:5]) >= every * CALM_SLOWDOWN - 1e-3   # calm: waits at the slowdown's most
    # Painted a first pace after the 6th: the 7th comes at once, not a slowed wait later.
    assert painted_at and shown[6] - painted_at[0] < every * CALM_SLOWDOWN * 0.5
