"""Mutated TIFF files through `unet-studio info` and `open_stack(...).plane()`, under a memory cap.

    python benchmarks/fuzz_files.py --files 20000 --seed 1 --cap-mb 1500

Valid small files of many layouts (ImageJ hyperstack, OME, tiled, LZW, deflate, multi-page,
RGB, 16-bit BigTIFF, float, 1-bit, forged OME and ImageJ metadata) are mutated (flipped bytes,
tag values replaced by extreme numbers, cut short, junk appended) and each one is read the
way a user would: `info` (cli.describe_file), then every plane (at most 8). Allowed outcomes
are a clean read or a one-line UnetStudioError; anything else is counted as a crash, a
MemoryError under the cap as a cap hit, a file taking longer than --per-file-s as a hang.
Prints one JSON line of counts (tests/test_fuzz_files.py runs a short seeded version).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import tifffile

EXTREMES = (0, 1, 2, 7, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1)


def _tiff(data, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, **kwargs)
    return buffer.getvalue()


def _pages(planes, **kwargs) -> bytes:
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer, bigtiff=kwargs.pop("bigtiff", False)) as writer:
        for i, plane in enumerate(planes):
            description = kwargs.get("description") if i == 0 else None
            writer.write(plane, metadata=None, contiguous=False, description=description,
                         **{k: v for k, v in kwargs.items() if k != "description"})
    return buffer.getvalue()


def _ome_xml(shape_axes: str, shape) -> str:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros(shape, np.uint8), ome=True, metadata={"axes": shape_axes})
    with tifffile.TiffFile(io.BytesIO(buffer.getvalue())) as tif:
        return tif.ome_metadata


def layouts() -> dict[str, bytes]:
    """Small valid files, one per way of storing an image that the reader handles."""
    rng = np.random.default_rng(0)
    u16 = rng.integers(0, 4000, (2, 3, 2, 12, 10), dtype=np.uint16)
    u8 = rng.integers(0, 255, (4, 16, 16), dtype=np.uint8)
    return {
        "imagej_hyperstack": _tiff(u16, imagej=True, metadata={"axes": "TZCYX"}),
        "ome_zlib": _tiff(u16[0], ome=True, compression="zlib", photometric="minisblack",
                          metadata={"axes": "ZCYX"}),
        "plain_pages": _pages(list(u8)),
        "tiled_u16": _tiff(u16[0, :, 0].repeat(2, 1).repeat(2, 2), tile=(16, 16)),
        "lzw": _tiff(u8, compression="lzw", photometric="minisblack"),
        "deflate_pages": _pages(list(u8), compression="zlib", rowsperstrip=4),
        "rgb": _tiff(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8), photometric="rgb"),
        "bigtiff_u16": _tiff(u16[0, :, 0], bigtiff=True, photometric="minisblack",
                             metadata={"axes": "ZYX"}),
        "float_planar": _tiff(rng.random((3, 8, 9), dtype=np.float32), photometric="minisblack",
                              planarconfig="separate"),
        "one_bit": _tiff(rng.random((24, 40)) > 0.5),
        "ome_forged": _pages(list(u8), description=_ome_xml("ZYX", u8.shape)),
        "imagej_forged": _pages(list(u8), description="ImageJ=1.11a\nimages=4\nslices=4\n"),
    }


def _tag_positions(content: bytes) -> list[tuple[int, int]]:
    """(byte offset, size in bytes) of every tag value in the file, for targeted edits."""
    spots = []
    with tifffile.TiffFile(io.BytesIO(content)) as tif:
        for page in tif.pages:
            for tag in page.tags:
                size = tifffile.TIFF.DATA_FORMATS[tag.dtype][-1:]
                item = {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4, "Q": 8, "q": 8}.get(size)
                if item:
                    spots.append((tag.valueoffset, item))
    return spots


def mutate(name: str, content: bytes, spots, rng: np.random.Generator) -> bytes:
    """One mutated copy of `content` (a layout's bytes)."""
    if name == "ome_forged":
        xml = _ome_xml("ZYX", (4, 16, 16))
        for axis in rng.choice(list("XYZCT"), size=rng.integers(1, 3), replace=False):
            value = int(rng.choice(EXTREMES + (4294967297, 10**12)))
            xml = xml.replace(f'Size{axis}="', f'Size{axis}="{value}" Old{axis}="', 1)
        return _pages([np.zeros((16, 16), np.uint8)] * 4, description=xml)
    if name == "imagej_forged":
        keys = ("images", "slices", "frames", "channels")
        text = "ImageJ=1.11a\n" + "".join(f"{k}={int(rng.choice(EXTREMES))}\n"
                                          for k in rng.choice(keys, size=2, replace=False))
        return _pages([np.zeros((16, 16), np.uint8)] * 4, description=text)
    data = bytearray(content)
    kind = rng.random()
    if kind < 0.45 and spots:
        for _ in range(rng.integers(1, 4)):
            offset, size = spots[rng.integers(len(spots))]
            value = int(rng.choice(EXTREMES)) % (256 ** size)
            order = "little" if data[:2] == b"II" else "big"
            data[offset: offset + size] = value.to_bytes(size, order)
    elif kind < 0.85:
        for _ in range(rng.integers(1, 9)):
            data[rng.integers(len(data))] = rng.integers(256)
    elif kind < 0.95:
        data = data[: rng.integers(8, len(data))]
    else:
        data += bytes(rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8))
    return bytes(data)


def _is_cap_hit(error: BaseException) -> bool:
    seen = error
    while seen is not None:
        if isinstance(seen, MemoryError) or "more memory than there is" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Hang(Exception):
    pass


def read_like_a_user(path: Path) -> str:
    """'ok', 'error' (a UnetStudioError), 'cap' (out of memory), 'hang' or 'crash:<type>'."""
    from unet_studio.cli import describe_file
    from unet_studio.core.errors import UnetStudioError
    from unet_studio.core.stack import open_stack

    outcome = "ok"
    for step in ("info", "planes"):
        try:
            if step == "info":
                describe_file(str(path))
            else:
                with open_stack(path) as stack:
                    planes = [(t, z) for t in range(stack.n_t) for z in range(stack.n_z)]
                    for t, z in planes[:8]:
                        stack.plane(t, z)
        except _Hang:
            return "hang"
        except BaseException as error:  # noqa: BLE001 - sorting every outcome is the point
            if _is_cap_hit(error):
                return "cap"
            if not isinstance(error, UnetStudioError) or "\n" in str(error):
                return f"crash:{type(error).__name__}"
            outcome = "error"
    return outcome


def fuzz(n_files: int, seed: int, per_file_s: float = 10.0) -> dict:
    """Counts of outcomes for `n_files` mutated files (seeded)."""
    rng = np.random.default_rng(seed)
    bases = layouts()
    spots = {name: _tag_positions(content) for name, content in bases.items()}
    names = sorted(bases)
    counts: Counter = Counter()
    per_layout: Counter = Counter()
    examples: dict[str, str] = {}

    def alarm(signum, frame):
        raise _Hang()

    signal.signal(signal.SIGALRM, alarm)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for i in range(n_files):
            name = names[i % len(names)]
            path = Path(folder) / f"{i:06d}-{name}.tif"
            path.write_bytes(mutate(name, bases[name], spots[name], rng))
            signal.setitimer(signal.ITIMER_REAL, per_file_s)
            try:
                outcome = read_like_a_user(path)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            counts[outcome.split(":")[0]] += 1
            per_layout[name] += 1
            if outcome not in ("ok", "error"):
                examples.setdefault(outcome, f"{name} #{i}")
            path.unlink()
    return {"files": n_files, "seed": seed, "layouts": len(per_layout), "ok": counts["ok"],
            "clean_errors": counts["error"], "crashes": counts["crash"], "cap_hits": counts["cap"],
            "hangs": counts["hang"], "examples": examples,
            "seconds": round(time.perf_counter() - started, 1)}


def cap_memory(megabytes: int) -> None:
    """Let this process's address space grow by `megabytes` at most from now on."""
    used = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + megabytes * 2**20, resource.RLIM_INFINITY))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cap-mb", type=int, default=1500, help="memory cap above the start")
    parser.add_argument("--per-file-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    import unet_studio.cli  # noqa: F401 - imported before the cap, like a running app
    import unet_studio.core.stack  # noqa: F401

    if os.path.exists("/proc/self/statm"):
        cap_memory(args.cap_mb)
    report = fuzz(args.files, args.seed, args.per_file_s)
    print(json.dumps(report))
    return 0 if report["crashes"] == report["cap_hits"] == report["hangs"] == 0 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
