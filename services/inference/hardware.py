"""Which device the models run on, and CPU/GPU utilisation gauges.

CUDA is looked for without importing anything GPU-only: CTranslate2 and torch both answer
"how many CUDA devices" on a CPU build (zero). NVML (pynvml / nvidia-ml-py) is optional and
only used when importable and a driver answers.
"""
from __future__ import annotations

import asyncio
import functools
import os
import time
from typing import Any

from megacity.telemetry.logs import get_logger
from services.inference import metrics

log = get_logger("inference.hardware")


@functools.lru_cache(maxsize=1)
def cuda_device_count() -> int:
    try:
        import ctranslate2

        count = ctranslate2.get_cuda_device_count()
        if count:
            return count
    except Exception:  # noqa: BLE001 - no CTranslate2 or no driver: ask torch
        pass
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001
        return 0


def offline_environment() -> None:
    """No hub downloads anywhere in this process or the processes it starts (vLLM's engine):
    every model is a local folder (a package, or the GPU image's /opt/models)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@functools.lru_cache(maxsize=1)
def torch_cuda_available() -> bool:
    """Whether torch (a CUDA build with a visible GPU) can run on CUDA: the embeddings' and
    transformers' device. CTranslate2 seeing a GPU says nothing about the torch build."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def torch_device(device: str, requested: str) -> str:
    """The device a torch backend runs on when the service's device is `device`: `cuda` only
    with a CUDA torch build; `INFERENCE_DEVICE=cuda` with a CPU torch build fails start-up,
    `auto` falls back to the CPU for that backend."""
    if device != "cuda":
        return "cpu"
    if torch_cuda_available():
        return "cuda"
    if requested == "cuda":
        raise RuntimeError("INFERENCE_DEVICE=cuda but torch has no CUDA (a CPU build, or no GPU it can use)")
    log.warning("CTranslate2 sees a GPU but torch cannot use it: torch backends run on the CPU")
    return "cpu"


def preload_cuda12_blas() -> list[str]:
    """CTranslate2 4.8 dlopens libcublas.so.12 / libcublasLt.so.12 by soname, which the CUDA 13
    stack (torch, vLLM) does not provide and the loader does not look for in site-packages:
    load them from the nvidia-cublas-cu12 wheel (requirements-gpu.txt) first. Returns what was
    loaded (nothing where the wheel is absent, e.g. a system CUDA 12)."""
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec("nvidia")
    loaded: list[str] = []
    for root in (spec.submodule_search_locations or []) if spec else []:
        for name in ("libcublasLt.so.12", "libcublas.so.12"):
            path = os.path.join(root, "cublas", "lib", name)
            if os.path.exists(path):
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                loaded.append(path)
    return loaded


def resolve_device(requested: str) -> str:
    """`auto` -> `cuda` when a GPU is visible, else `cpu`. Asking for `cuda` without one fails
    start-up (a GPU node that lost its GPU must not quietly serve at CPU speed)."""
    if requested == "cpu":
        return "cpu"
    count = cuda_device_count()
    if requested == "cuda" and count == 0:
        raise RuntimeError("INFERENCE_DEVICE=cuda but no CUDA device is visible")
    return "cuda" if count else "cpu"


def cpu_threads(configured: int) -> int:
    return configured if configured > 0 else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                              else (os.cpu_count() or 1))


def _read_cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    total = sum(fields[:8])
    return total - idle, total


class _Nvml:
    def __init__(self) -> None:
        self.lib: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml  # provided by nvidia-ml-py (or the pynvml package)

            pynvml.nvmlInit()
            self.lib = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # noqa: BLE001 - no NVML, no driver, no GPU: no GPU gauges
            self.lib = None

    def sample(self) -> None:
        if self.lib is None:
            return
        for i, handle in enumerate(self.handles):
            try:
                util = self.lib.nvmlDeviceGetUtilizationRates(handle)
                mem = self.lib.nvmlDeviceGetMemoryInfo(handle)
            except Exception:  # noqa: BLE001
                continue
            metrics.GPU_UTILISATION.labels(str(i)).set(util.gpu / 100.0)
            metrics.GPU_MEMORY_USED.labels(str(i)).set(mem.used)
            metrics.GPU_MEMORY_TOTAL.labels(str(i)).set(mem.total)


class UtilisationSampler:
    """Background task updating the CPU (host and process) and GPU gauges every `interval` s."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task | None = None
        self._nvml: _Nvml | None = None

    def sample_once(self, last: tuple[float, float] | None, last_proc: tuple[float, float]) -> tuple[
            tuple[float, float] | None, tuple[float, float]]:
        now = _read_cpu_times()
        if now and last and now[1] > last[1]:
            metrics.CPU_UTILISATION.set((now[0] - last[0]) / (now[1] - last[1]))
        proc = (time.process_time(), time.monotonic())
        if proc[1] > last_proc[1]:
            metrics.PROCESS_CPU.set((proc[0] - last_proc[0]) / (proc[1] - last_proc[1]))
        if self._nvml is not None:
            self._nvml.sample()
        return now, proc

    async def _loop(self) -> None:
        self._nvml = await asyncio.to_thread(_Nvml)
        last, last_proc = _read_cpu_times(), (time.process_time(), time.monotonic())
        while True:
            await asyncio.sleep(self.interval)
            last, last_proc = self.sample_once(last, last_proc)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="inference-utilisation")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
