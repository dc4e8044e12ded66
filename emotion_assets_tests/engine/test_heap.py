"""engine.heap: the free pages glibc keeps after windows of many sizes go back to the OS."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from emotion_assets.engine.heap import release_free_heap

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim, /proc")

MB = 2**20


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_blocks_freed_between_windows_are_returned_to_the_os() -> None:
    # Freeing an mmapped block raises glibc's mmap threshold: blocks of a few MB, as a window's
    # activations, then come from the heap, and free() keeps their pages.
    big = np.ones(24 * MB // 8)
    del big
    blocks, pins = [], []
    for i in range(64):  # 64 blocks of ~4 MB, each a new size, as windows of many lengths
        blocks.append(np.ones((4 * MB + i * 4096) // 8))
        pins.append(bytearray(100_000))  # later allocations: the freed blocks are not the top
    freed_mb = sum(b.nbytes for b in blocks) / MB
    del blocks
    held = _rss_mb()
    release_free_heap()
    assert held - _rss_mb() > 0.5 * freed_mb, (held, _rss_mb(), freed_mb)
    assert len(pins) == 64
