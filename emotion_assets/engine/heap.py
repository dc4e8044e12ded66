"""Hand the heap's free pages back to the OS between windows (glibc's malloc_trim).

Windows planned in a conversation's pauses have many lengths, so every window frees and
allocates activations of new sizes. glibc keeps freed blocks of up to 32 MB in its heap and
reuses them poorly across sizes: over an hour's track the process grew by ~0.5 GB of free but
unreturned memory (the 60-minute call day peaked at 2.53 GB; bench/results). Trimming after each
window of a track scored in several keeps the peak at what one window needs (a clip scored in one
pass is left alone: ~1 % of its time). Without glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_heap() -> None:
    """Return the free pages of every malloc arena to the OS (cheap: ~1 ms)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
