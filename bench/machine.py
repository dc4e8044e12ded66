"""The machine a benchmark ran on: numbers mean nothing without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

INTERESTING_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "avx_vnni",
)


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = platform.processor() or "unknown", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model in ("unknown", "", "x86_64"):
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, flags


def cpu_summary() -> dict[str, Any]:
    """CPU model, cores and RAM without importing torch (benchmarks that do not need it)."""
    import psutil

    return {
        "cpu_model": _cpuinfo()[0],
        "logical_cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def describe(threads: int, device: str) -> dict[str, Any]:
    import funasr
    import psutil
    import torch

    model, flags = _cpuinfo()
    info: dict[str, Any] = {
        "cpu_model": model,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_flags": {flag: flag in flags for flag in INTERESTING_FLAGS},
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "available_ram_gb_at_start": round(psutil.virtual_memory().available / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "funasr": getattr(funasr, "__version__", "unknown"),
        "threads": threads,
        "device": device,
    }
    if device == "cuda" and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
