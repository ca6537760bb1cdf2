"""Where and in what precision the network runs: the CPU's abilities choose bf16 or fp32."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import torch

from unet_studio.ml import device as dev
from unet_studio.ml.predict import predict_plane
from unet_studio.ml.train import TrainConfig, train

from .conftest import TINY
from .synthetic import blobs, iou

CPU = torch.device("cpu")


@pytest.fixture
def cpu_flags(monkeypatch):
    """Pretend the CPU lists the given /proc/cpuinfo flags."""
    def set_flags(*flags):
        monkeypatch.setattr(dev, "_cpu_flags", frozenset(flags))
    return set_flags


@pytest.mark.parametrize("flags, training, layout, inference", [
    ((), None, torch.channels_last, torch.float32),
    (("avx2", "avx512f"), None, torch.channels_last, torch.float32),
    (("avx512_bf16",), None, torch.channels_last, torch.bfloat16),    # bf16 backward was slower there
    (("avx512_bf16", "amx_bf16"), torch.bfloat16, torch.contiguous_format, torch.bfloat16),
])
def test_cpu_precision_follows_what_the_cpu_computes_natively(cpu_flags, flags, training, layout, inference):
    cpu_flags(*flags)
    assert dev.amp_dtype(CPU) is training
    assert dev.training_memory_format(CPU) is layout
    assert dev.inference_dtype(CPU) is inference
    assert dev.make_grad_scaler(CPU) is None   # bf16 needs no loss scaling
    assert ("bf16" in dev.device_name(CPU)) == (training is torch.bfloat16)   # the panel says so


def test_the_environment_switch_keeps_the_cpu_in_fp32(monkeypatch):
    monkeypatch.setattr(dev, "_cpu_flags", None)
    monkeypatch.setenv("UNET_STUDIO_CPU_BF16", "0")
    assert dev.amp_dtype(CPU) is None
    assert dev.inference_dtype(CPU) is torch.float32


def test_bf16_training_on_the_cpu_learns_the_blobs(cpu_flags, blob_training, monkeypatch):
    """The bf16 path runs on any CPU (slowly without AMX), so it is checked everywhere."""
    cpu_flags("amx_bf16")
    seen = []
    real_autocast = dev.autocast

    def spying_autocast(device):
        context = real_autocast(device)
        seen.append(isinstance(context, torch.autocast) and context.fast_dtype == torch.bfloat16)
        return context

    monkeypatch.setattr("unet_studio.ml.trainer.autocast", spying_autocast)
    image, _, labels = blob_training
    progress = None
    for progress in train([image], [labels], ["background", "blob"], TrainConfig(steps=150, seed=0, **TINY)):
        pass
    assert seen and all(seen)
    net = progress.model.net
    assert all(p.dtype == torch.float32 for p in net.parameters())   # weights stay fp32 (autocast)
    test_image, truth = blobs(96, 8, seed=2)
    assert iou(predict_plane(progress.model, test_image).mask == 2, truth) > 0.8


def test_adamw_is_fused_where_torch_has_the_kernel_and_plain_where_not(monkeypatch):
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert dev.adamw(params, lr=1e-3, weight_decay=0.0).defaults["fused"]   # CPU kernel since torch 2.4
    real = torch.optim.AdamW

    def old_torch_adamw(params, fused=None, **kwargs):
        params = list(params)   # torch takes the parameters before it checks the device
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices")
        return real(params, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", old_torch_adamw)
    opt = dev.adamw(iter(params), lr=1e-3, weight_decay=0.0)   # as train() passes them: a generator
    assert not opt.defaults["fused"]
    params[0].grad = torch.ones(3)
    opt.step()
    assert float(params[0].detach()[0]) < 0   # the fallback optimiser still steps


def test_the_device_name_says_when_other_programs_keep_cores_busy(monkeypatch):
    monkeypatch.setattr(dev, "_measured", threading.local())   # no measurement of an earlier test
    monkeypatch.setattr(dev, "cores_busy_elsewhere", lambda: 1)
    assert dev.device_name(CPU).endswith("; 1 core busy with other programs)")
    monkeypatch.setattr(dev, "cores_busy_elsewhere", lambda: 0)
    assert "busy" not in dev.device_name(CPU)


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux's /proc")
def test_a_busy_program_is_seen_and_our_own_work_is_not():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert dev.cores_busy_elsewhere(0.5) >= 1
    finally:
        busy.kill()
        busy.wait()


def test_our_own_work_is_not_counted_as_another_programs(monkeypatch):
    """Two cores, 100 ticks each: 150 busy ticks of which this process ran 100 -> 1 core
    (rounded from 0.5 + ...) is busy elsewhere; all 150 its own -> none."""
    ticks = iter([(1000, 5000), (1150, 5200)])
    own = iter([300, 400])
    monkeypatch.setattr(dev, "_cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(dev, "_own_ticks", lambda: next(own))
    monkeypatch.setattr(dev, "cpu_cores", lambda: 2)
    assert dev.cores_busy_elsewhere(0.0) == 0     # 50 ticks of others = half a core: rounds to 0
    ticks = iter([(1000, 5000), (1190, 5200)])
    own = iter([300, 390])
    assert dev.cores_busy_elsewhere(0.0) == 1     # 100 ticks of others = one core
    ticks = iter([(1000, 5000), (1200, 5200)])
    own = iter([300, 500])
    assert dev.cores_busy_elsewhere(0.0) == 0     # all of it ours


def test_a_run_names_its_device_with_the_measurement_its_thread_just_made(monkeypatch):
    """The app's Train measures the busy cores to share them; the run then names its device in
    the same thread without waiting 0.2 s for a second measurement. Another thread measures."""
    monkeypatch.setattr(dev, "_measured", threading.local())
    monkeypatch.setattr(dev, "cpu_cores", lambda: 2)
    ticks, own = iter([(1000, 5000), (1190, 5200)]), iter([300, 390])
    monkeypatch.setattr(dev, "_cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(dev, "_own_ticks", lambda: next(own))
    assert dev.cores_busy_elsewhere(0.0) == 1
    assert dev.device_name(CPU).endswith("; 1 core busy with other programs)")   # no ticks read again
    ticks, own = iter([(1000, 5000), (1000, 5200)]), iter([300, 300])   # now nobody else is busy
    other = []
    thread = threading.Thread(target=lambda: other.append(dev.recently_busy_cores()))
    thread.start()
    thread.join()
    assert other == [0]     # its own measurement


def test_every_cpu_core_inside_the_block_then_the_count_before(monkeypatch):
    import torch

    from unet_studio.ml import device

    monkeypatch.setattr(device, "cpu_cores", lambda: 3)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with device.every_cpu_core():
            assert torch.get_num_threads() == 3
        assert torch.get_num_threads() == 1
        with device.every_cpu_core():
            torch.set_num_threads(2)   # training started meanwhile and chose its count
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_a_lowered_thread_priority_reaches_the_threads_torch_starts_for_it():
    """Training lowers its own thread's priority so the window wins a shared core; the threads
    torch's OpenMP starts for that thread's work must run at that priority too, and the rest of
    the process (the window) must keep its own."""

    def nice_of(task: str) -> int:
        with open(f"/proc/self/task/{task}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[16])

    from tests.threads import in_its_own_thread

    main = str(threading.get_native_id())
    base = nice_of(main)

    def train_like():
        lowered = dev.lower_this_threads_priority(3)
        own = nice_of(str(threading.get_native_id()))
        torch.set_num_threads(2)
        x = torch.randn(4, 8, 96, 96, requires_grad=True)
        torch.nn.functional.conv2d(x, torch.randn(8, 8, 3, 3)).square().sum().backward()
        return lowered, own, [nice_of(task) for task in os.listdir("/proc/self/task")]

    lowered, own, every_thread = in_its_own_thread(train_like)
    assert lowered and own == min(19, base + 3)
    assert every_thread.count(own) >= 2   # it and the helper torch started for it
    assert nice_of(main) == base
