"""engine.heap: the free pages glibc keeps after windows of many sizes go back to the OS."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc_trim, /proc")

# Run in a fresh interpreter: how much of the heap free() keeps depends on the process's
# allocation history (earlier tests in the same process changed it and the result).
SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from emotion_assets.engine.heap import release_free_heap

    MB = 2**20

    def rss_mb():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    # Freeing an mmapped block raises glibc's mmap threshold: blocks of a few MB, as a
    # window's activations, then come from the heap, and free() keeps their pages.
    big = np.ones(24 * MB // 8)
    del big
    blocks, pins = [], []
    for i in range(64):  # 64 blocks of ~4 MB, each a new size, as windows of many lengths
        blocks.append(np.ones((4 * MB + i * 4096) // 8))
        pins.append(bytearray(100_000))  # later allocations: the freed blocks are not the top
    freed = sum(b.nbytes for b in blocks) / MB
    del blocks
    held = rss_mb()
    release_free_heap()
    print(json.dumps({"freed": freed, "held": held, "after": rss_mb(), "pins": len(pins)}))
    """
)


def test_blocks_freed_between_windows_are_returned_to_the_os() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    mb = json.loads(out.stdout.strip().splitlines()[-1])
    assert mb["held"] - mb["after"] > 0.5 * mb["freed"], mb
