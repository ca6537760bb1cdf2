"""The CLI's progress on stderr when it is not a terminal (a log file, a pipe, a cluster job)."""
from __future__ import annotations

from unet_studio import cli_progress
from unet_studio.cli_progress import LOG_EVERY, Progress


def test_a_line_at_once_and_then_every_few_seconds_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    now = [100.0]
    monkeypatch.setattr(cli_progress.time, "monotonic", lambda: now[0])
    progress = Progress()   # capsys: stderr is not a terminal
    assert not progress.live
    for step in range(1, 41):   # 40 steps, 0.5 s apart: 20 s
        progress.show(f"step {step}, loss 0.1, 30 patches/s")
        now[0] += 0.5
    progress.finish("trained 40 steps")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "step 1, loss 0.1, 30 patches/s"
    assert lines[-1] == "trained 40 steps"
    assert 20 / LOG_EVERY - 1 <= len(lines) - 2 <= 20 / LOG_EVERY + 1
    assert 2 <= LOG_EVERY <= 10 and not any("\r" in line or "\033" in line for line in lines)
