"""Torch's intra-op thread count, which is process-wide and which libraries change behind our back.

silero-vad calls ``torch.set_num_threads(1)`` when it is imported and funasr sets its own count
when it loads a model, so in one process (a Dagster run) the emotion model would silently run on
one core after the VAD step. Code that cares states its count with `torch_threads`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def available_cores() -> int:
    """CPUs this process may run on (respects taskset/cpusets, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def torch_threads(n: int | None = None) -> Iterator[int]:
    """Run the block with n intra-op threads (None: the current count) and restore the count
    found on entry afterwards, whatever the block (or a library it imports) set."""
    import torch

    before = torch.get_num_threads()
    wanted = before if n is None else max(1, int(n))
    if wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
