"""An export of a stack's masks from the window against `unet-studio predict` on the same stack
and model, interleaved in one run.

    QT_QPA_PLATFORM=xcb xvfb-run -a .venv/bin/python benchmarks/export_speed.py --data ../shared/data \
        [--planes 10] [--repeats 2]

The stack: the first `--planes` slices of the ISBI volume; the model: `unet-studio train` for a
few steps on its scribbles (the speed does not depend on how well it is trained). The window
opens the stack, takes the model, and its stack jobs export the masks (File > Export masks);
timed from the call to the written file. The CLI is timed end to end: a fresh process
(start-up, torch import, reading, predicting, writing), as a user runs it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_tasks import DEFAULT_DATA  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--planes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="unet_studio-export-speed-"))
    isbi = args.data / "isbi2012"
    stack_path, labels_path, model_path = folder / "stack.tif", folder / "labels.tif", folder / "model.pt"
    tifffile.imwrite(stack_path, tifffile.imread(isbi / "train-volume.tif")[: args.planes])
    tifffile.imwrite(labels_path, tifffile.imread(isbi / "scribbles.tif")[: args.planes])
    cli = [sys.executable, "-m", "unet_studio"]
    subprocess.run(cli + ["train", str(stack_path), "--labels", str(labels_path), "--steps", "3",
                          "--out", str(model_path)], check=True, capture_output=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    os.environ["XDG_DATA_HOME"] = str(folder / "user")
    app = QApplication(sys.argv[:1])
    from unet_studio.core.stack import open_stack
    from unet_studio.gui.app import configure_pyqtgraph
    from unet_studio.gui.window.main_window import MainWindow
    from unet_studio.ml.model_file import load_model
    from unet_studio.workflow.export import MASK
    from unet_studio.workflow.loaded_image import prepare

    def wait_until(done) -> None:
        while not done():
            app.processEvents()
            time.sleep(0.002)

    configure_pyqtgraph()
    window = MainWindow(QSettings(str(folder / "export.ini"), QSettings.Format.IniFormat))
    window.resize(1440, 900)
    window.show()
    window.show_image(prepare(open_stack(stack_path)))
    window.document.set_model(load_model(model_path))
    app_s, cli_s = [], []
    for repeat in range(args.repeats):
        out = folder / f"app-{repeat}.tif"
        start = time.perf_counter()
        window.stack_jobs.export_prediction(out, MASK)
        wait_until(lambda: not window.stack_jobs.busy)
        app_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(cli + ["predict", str(model_path), str(stack_path), "--out", str(folder / f"cli-{repeat}")],
                       check=True, capture_output=True)
        cli_s.append(time.perf_counter() - start)
        written = tifffile.imread(out)
        cli_mask = tifffile.imread(next((folder / f"cli-{repeat}").glob("*mask*.tif")))
        same = np.array_equal(written, cli_mask)
        print(f"repeat {repeat}: app export {app_s[-1]:.1f} s, CLI {cli_s[-1]:.1f} s; "
              f"the same masks: {same}", flush=True)
    window.saved_labels_version = window.document.labels.version
    window.close()
    ratio = np.array(app_s) / np.array(cli_s)
    print(f"{args.planes} x {written.shape[-2]}x{written.shape[-1]}: app {np.mean(app_s):.1f} ± {np.std(app_s):.1f} s, "
          f"CLI end to end {np.mean(cli_s):.1f} ± {np.std(cli_s):.1f} s; app / CLI {ratio.mean():.2f} "
          f"({ratio.min():.2f}-{ratio.max():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
