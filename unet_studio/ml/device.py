"""Where the network runs: CUDA, then Apple MPS, then the CPU, and how fast it may go there.

Mixed precision (AMP) on CUDA: bf16 where the GPU supports it (no loss scaling needed), fp16
with a gradient scaler otherwise. On a CPU, training uses bf16 only where the CPU has AMX
matrix units (Intel Xeon 4th generation and later), which compute it natively; elsewhere
fp32 stays the safe choice (bf16 autocast on CPUs without native support is slower).
UNET_STUDIO_CPU_BF16=0 keeps every CPU computation in fp32.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

import torch

from unet_studio.core.errors import TrainingInputError

_threads_set = False


def pick_device(preference: str = "auto") -> torch.device:
    """The torch device for `preference` ("auto", "cpu", "cuda" or "mps").

    "auto" takes CUDA, then MPS, then the CPU. Asking for an accelerator that is not there
    raises TrainingInputError with a one-line reason.
    """
    preference = (preference or "auto").lower()
    if preference not in ("auto", "cpu", "cuda", "mps"):
        raise TrainingInputError(f"unknown device '{preference}' (use auto, cpu, cuda or mps)")
    if preference in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    if preference in ("auto", "mps") and _mps_available():
        return torch.device("mps")
    if preference == "cuda":
        raise TrainingInputError("device 'cuda' requested but no CUDA GPU is available")
    if preference == "mps":
        raise TrainingInputError("device 'mps' requested but Apple MPS is not available")
    use_all_cpu_cores()
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cpu_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def use_all_cpu_cores() -> None:
    """Let torch use every core this process may run on, unless the process already chose
    (use_cpu_cores); later calls do nothing."""
    if not _threads_set:
        use_cpu_cores()


def use_cpu_cores(leave: int = 0) -> None:
    """Let torch use the cores this process may run on but `leave` (at least one), now: the app
    leaves one for the window. Counted from the cores, not from torch's setting, which is one
    number for the whole process (each new thread takes it)."""
    global _threads_set
    _threads_set = True
    torch.set_num_threads(max(1, cpu_cores() - leave))


def lower_this_threads_priority(by: int = 10) -> bool:
    """Lower the calling thread's CPU priority (Linux's per-thread `nice`) by `by`; the threads
    it starts afterwards, torch's OpenMP team for its work among them, inherit it. A thread's
    priority cannot be raised again without privileges: call it in a thread that ends with its
    work. False where the system has no per-thread priority (macOS, Windows): nothing changed."""
    if not sys.platform.startswith("linux") or by <= 0:
        return False
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + by))
    except (AttributeError, OSError):
        return False
    return True


@contextlib.contextmanager
def every_cpu_core():
    """Torch uses every core this process may run on inside the block: work the user waits
    for (an export, predicting a stack) runs as fast as the command line even after training
    left a core for the window. Afterwards the count before it comes back, unless something
    chose another meanwhile (training started: its choice stays)."""
    before = torch.get_num_threads()
    every = cpu_cores()
    torch.set_num_threads(every)
    try:
        yield
    finally:
        if torch.get_num_threads() == every:
            torch.set_num_threads(before)


def as_device(device: Any) -> torch.device:
    """A torch.device from a device, a preference string or None (= "auto")."""
    if isinstance(device, torch.device):
        return device
    return pick_device(device or "auto")


def default_width(device: Any) -> int:
    """Base number of feature maps of the first U-Net level for this device.

    16 on a CPU keeps a training step well under a second on a laptop (benchmarks/README.md);
    the paper's 64 on a GPU.
    """
    return 16 if as_device(device).type == "cpu" else 64


def device_name(device: Any) -> str:
    """A short human name, with the training precision where it is not fp32: "CPU (2 threads)",
    "CPU (2 threads, bf16)", "CUDA: NVIDIA H100 80GB HBM3, bf16", "Apple MPS". On a CPU whose
    cores other programs keep busy, it says so: "CPU (2 threads; 1 core busy with other
    programs)", since training then runs slower than the thread count promises."""
    device = as_device(device)
    precision = {torch.bfloat16: ", bf16", torch.float16: ", fp16"}.get(amp_dtype(device), "")
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}{precision}"
    if device.type == "mps":
        return "Apple MPS"
    threads = torch.get_num_threads()
    busy = recently_busy_cores()
    others = f"; {busy} core{'s' if busy != 1 else ''} busy with other programs" if busy else ""
    return f"CPU ({threads} thread{'s' if threads != 1 else ''}{precision}{others})"


# This thread's last measurement of cores_busy_elsewhere: (when, cores).
_measured = threading.local()
# A measurement this recent is the same one: the app's Train measures to share the cores,
# then the run names its device, in the same thread a moment later.
RECENT_SECONDS = 1.0


def cores_busy_elsewhere(seconds: float = 0.2) -> int:
    """Cores that other programs kept busy over the next `seconds` (this process's own work
    not counted), rounded; 0 where the system does not say (Linux's /proc is read)."""
    try:
        before, own_before = _cpu_ticks(), _own_ticks()
        time.sleep(seconds)
        after, own_after = _cpu_ticks(), _own_ticks()
    except (OSError, ValueError, IndexError, AttributeError):
        return 0
    elapsed = (after[1] - before[1]) / max(cpu_cores(), 1)   # ticks of one core
    if elapsed <= 0:
        return 0
    others = (after[0] - before[0]) - (own_after - own_before)
    busy = max(0, min(cpu_cores(), round(others / elapsed)))
    _measured.last = (time.monotonic(), busy)
    return busy


def recently_busy_cores() -> int:
    """cores_busy_elsewhere, or this thread's measurement of the last RECENT_SECONDS (not
    waiting for a second one)."""
    last = getattr(_measured, "last", None)
    if last is not None and time.monotonic() - last[0] < RECENT_SECONDS:
        return last[1]
    return cores_busy_elsewhere()


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks since boot of the cores this process may run on, from
    /proc/stat (a container may see the host's other cores there too)."""
    mine = {f"cpu{i}" for i in os.sched_getaffinity(0)}
    busy = total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if name in mine:
                fields = [int(v) for v in values[:8]]   # user .. steal (guest time is in user)
                idle = fields[3] + fields[4]             # idle + iowait
                busy, total = busy + sum(fields) - idle, total + sum(fields)
    if not total:
        raise ValueError("no per-core lines in /proc/stat")
    return busy, total


def _own_ticks() -> int:
    """Clock ticks this process (all its threads) ran, from /proc/self/stat."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training on this device, or None for full fp32.

    On a CPU with AMX, bf16 autocast (with the patches in the plain NCHW layout, see
    `training_memory_format`) made 1.4-1.5x the training steps of fp32 in the same time
    (Intel Xeon with AMX, 2 threads, width 16, 128 px patches: 270 vs 190 steps in 20 s).
    """
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and _cpu_has_flag("amx_bf16"):
        return torch.bfloat16
    return None


def training_memory_format(device: torch.device) -> torch.memory_format:
    """Layout of the network and patches in training: channels_last, except for CPU bf16
    training, whose backward pass is slower in channels_last than in NCHW on AMX CPUs.
    Prediction keeps channels_last everywhere, where it is the faster layout."""
    if device.type == "cpu" and amp_dtype(device) is torch.bfloat16:
        return torch.contiguous_format
    return torch.channels_last


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision for the forward pass where it pays off (CUDA), a no-op elsewhere."""
    dtype = amp_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_grad_scaler(device: torch.device) -> "torch.amp.GradScaler | None":
    """A gradient scaler for fp16 training (bf16 and fp32 do not need one)."""
    if amp_dtype(device) is torch.float16:
        return torch.amp.GradScaler("cuda")
    return None


def adamw(params, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with the fused kernel where torch has one for the device (CUDA; CPU since torch
    2.4): one call per step instead of a Python loop over ~100 tensors, which leaves more of a
    short training budget to the steps themselves."""
    params = list(params)   # a generator would be used up by the first attempt
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):   # no fused kernel for this device or torch version
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def is_out_of_memory(error: BaseException) -> bool:
    """True for a CUDA / MPS out-of-memory error (the batch can be halved and training go on)."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def inference_dtype(device: torch.device) -> torch.dtype:
    """Precision for prediction: bf16 where the hardware computes it natively, else fp32.

    On a CPU with AVX512-BF16 or AMX, a bf16 copy of the network predicts several times faster
    than fp32 and the masks are the same up to pixels within a hair of 50 % probability.
    Training stays fp32 on such CPUs unless they have AMX (see `amp_dtype`): the bf16 backward
    pass is slower without it.
    """
    if device.type == "cuda":
        return amp_dtype(device) or torch.float32
    if device.type == "cpu" and (_cpu_has_flag("avx512_bf16") or _cpu_has_flag("amx_bf16")):
        return torch.bfloat16
    return torch.float32


_cpu_flags: frozenset[str] | None = None


def _cpu_has_flag(flag: str) -> bool:
    """True if /proc/cpuinfo lists `flag` (False elsewhere, or with UNET_STUDIO_CPU_BF16=0)."""
    global _cpu_flags
    if _cpu_flags is None:
        _cpu_flags = frozenset()
        if os.environ.get("UNET_STUDIO_CPU_BF16", "").lower() not in ("0", "no", "false"):
            try:
                with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
                    line = next((line for line in fh if line.startswith("flags")), "")
                _cpu_flags = frozenset(line.split(":", 1)[-1].split())
            except OSError:
                pass
    return flag in _cpu_flags
