"""Fuzz: 1,200 mutated TIFF files of 12 layouts through `info` and every plane, under a memory
cap. Only clean reads and one-line UnetStudioErrors are allowed: no other exception, no
MemoryError under the cap, no file that hangs. benchmarks/fuzz_files.py runs a longer version."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mutated_tiffs_give_clean_errors_only_under_a_memory_cap():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fuzz_files.py"), "--files", "1200", "--seed", "0",
         "--cap-mb", "1000", "--per-file-s", "10"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["files"] >= 1000 and report["layouts"] >= 8
    assert report["crashes"] == 0 and report["cap_hits"] == 0 and report["hangs"] == 0, report
    # Both outcomes occur: the mutations reach the readers, and most files still open.
    assert report["ok"] > 100 and report["clean_errors"] > 100
