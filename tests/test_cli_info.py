"""`unet-studio info FILE` as a user runs it: in a fresh process, reading its output."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile

from unet_studio.cli import human_size, main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "unet_studio", *args],
                          capture_output=True, text=True, timeout=120)


def info_fields(stdout: str) -> dict[str, str]:
    fields = {}
    for line in stdout.splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    """One file per layout the issue names, with the axes and shape info must print."""
    folder = tmp_path_factory.mktemp("good")
    u16 = np.uint16
    files = {}

    def add(name, axes, shape, write):
        files[name] = (folder / name, axes, shape)
        write(folder / name)

    add("yx.tif", "YX", (20, 30), lambda p: tifffile.imwrite(p, np.zeros((20, 30), u16)))
    add("zyx.tif", "ZYX", (5, 20, 30), lambda p: tifffile.imwrite(
        p, np.zeros((5, 20, 30), u16), imagej=True, metadata={"axes": "ZYX"},
        resolution=(1 / 0.2, 1 / 0.2)))
    add("tyx.tif", "TYX", (4, 20, 30), lambda p: tifffile.imwrite(
        p, np.zeros((4, 20, 30), u16), imagej=True, metadata={"axes": "TYX"}))
    add("tzcyx.tif", "TZCYX", (2, 3, 2, 20, 30), lambda p: tifffile.imwrite(
        p, np.zeros((2, 3, 2, 20, 30), u16), imagej=True, metadata={"axes": "TZCYX"}))
    add("czyx.ome.tif", "ZCYX", (4, 3, 20, 30), lambda p: tifffile.imwrite(
        p, np.zeros((3, 4, 20, 30), u16), ome=True, metadata={"axes": "CZYX"}))
    add("rgb.tif", "CYX", (3, 20, 30), lambda p: tifffile.imwrite(
        p, np.zeros((20, 30, 3), np.uint8), photometric="rgb"))
    add("big.tif", "ZYX", (3, 20, 30), lambda p: tifffile.imwrite(
        p, np.zeros((3, 20, 30), np.float32), bigtiff=True, photometric="minisblack",
        metadata={"axes": "ZYX"}))
    return files


@pytest.mark.parametrize("name", ["yx.tif", "zyx.tif", "tyx.tif", "tzcyx.tif", "czyx.ome.tif",
                                  "rgb.tif", "big.tif"])
def test_info_prints_axes_shape_and_type(good_files, name):
    path, axes, shape = good_files[name]
    result = run_cli("info", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    fields = info_fields(result.stdout)
    assert fields["axes"] == axes
    assert fields["shape"].startswith(" x ".join(map(str, shape)))
    assert fields["dtype"] in ("uint16", "uint8", "float32")
    assert name in fields["file"] and "kB" in fields["file"]


def test_info_shows_scale_and_guesses(good_files, tmp_path, capsys):
    assert main(["info", str(good_files["zyx.tif"][0])]) == 0
    assert info_fields(capsys.readouterr().out)["pixel size"] == "unknown"  # no unit given
    path = tmp_path / "scaled.tif"
    tifffile.imwrite(path, np.zeros((3, 8, 8), np.uint8), imagej=True,
                     resolution=(1 / 0.25, 1 / 0.5),
                     metadata={"axes": "ZYX", "unit": "um", "spacing": 2.0})
    assert main(["info", str(path)]) == 0
    fields = info_fields(capsys.readouterr().out)
    assert fields["pixel size"] == "0.5 (y) x 0.25 (x) um"
    assert fields["z spacing"] == "2 um"
    pages = tmp_path / "pages.tif"
    with tifffile.TiffWriter(pages) as tif:
        for _ in range(4):
            tif.write(np.zeros((8, 8), np.uint8), metadata=None)
    assert main(["info", str(pages)]) == 0
    fields = info_fields(capsys.readouterr().out)
    assert fields["axes"] == "ZYX" and "Z slices" in fields["note"] and "channels" not in fields
    named = tmp_path / "named.ome.tif"
    tifffile.imwrite(named, np.zeros((2, 8, 8), np.uint8), metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    assert main(["info", str(named)]) == 0
    assert info_fields(capsys.readouterr().out)["channels"] == "c1 = DAPI, c2 = GFP"


def damaged_files(folder):
    valid = folder / "valid.tif"
    tifffile.imwrite(valid, np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32),
                     imagej=True, metadata={"axes": "ZYX"})
    raw = valid.read_bytes()
    files = {
        "empty.tif": (b"", "empty"),
        "truncated.tif": (raw[: len(raw) // 3], "truncated"),
        "garbage.tif": (bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8)),
                        "not a TIFF"),
        "notes.tif": (b"Experiment 12, slide 3\nexposure 200 ms\n", "not a TIFF"),
    }
    for name, (content, _) in files.items():
        (folder / name).write_bytes(content)
    complex_file = folder / "fft.tif"
    tifffile.imwrite(complex_file, np.zeros((8, 8), np.complex64))
    files["fft.tif"] = (None, "complex64")
    files["missing.tif"] = (None, "no such file")
    return {name: reason for name, (_, reason) in files.items()}


def test_bad_files_give_exit_code_2_and_one_line_naming_the_file(tmp_path):
    for name, reason in damaged_files(tmp_path).items():
        result = run_cli("info", str(tmp_path / name))
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert lines[0].startswith("unet-studio: error: ")
        assert name in lines[0] and reason in lines[0], lines[0]
        assert result.stdout == ""


def test_version_and_info_import_neither_torch_nor_qt(good_files):
    path = good_files["tzcyx.tif"][0]
    code = (
        "import sys\n"
        "from unet_studio.cli import main\n"
        "assert main(['--version']) == 0\n"
        f"assert main(['info', {str(path)!r}]) == 0\n"
        "heavy = [m for m in ('torch', 'PySide6', 'pyqtgraph', 'superqt') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "unet-studio 0.1" in result.stdout
    assert "HEAVY []" in result.stdout


def test_human_sizes():
    assert human_size(0) == "0 B"
    assert human_size(999) == "999 B"
    assert human_size(1500) == "1.5 kB"
    assert human_size(4_300_000_000) == "4.3 GB"


@pytest.mark.parametrize("command", ["info", "train", "predict", "export-bioimageio"])
def test_every_argument_of_a_command_is_described_in_its_help(command):
    from unet_studio.cli import _command_parser

    parser = _command_parser(command)
    undescribed = [a.metavar or a.dest for a in parser._actions if not a.help]
    assert undescribed == [], f"{command} --help leaves {undescribed} without a description"


def test_a_mistyped_command_or_a_missing_file_is_one_line_before_any_window(tmp_path):
    """Neither starts Qt (which aborts where it finds no display): one line, exit code 2."""
    cases = {"predictt": "unknown command 'predictt': did you mean predict?",
             "segment": "segment: no such file, nor a command (train, predict, export-bioimageio, info)",
             str(tmp_path / "gone.tif"): f"{tmp_path / 'gone.tif'}: no such file"}
    for word, message in cases.items():
        result = run_cli(word)
        assert result.returncode == 2 and result.stderr.strip() == f"unet-studio: error: {message}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a display is a Linux (X11, Wayland) setting")
def test_without_a_display_the_app_says_so_in_one_line(good_files):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "unet_studio", str(good_files["zyx.tif"][0])],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("unet-studio: error: there is no display to open the window on")
