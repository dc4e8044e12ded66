"""Work units: a day's items (recordings, tracks) in groups of bounded audio, one step each.

The rule both the ingest and the model step follow (docs/scale.md): items in a fixed order, as
many consecutive items a unit as fit in `limit_s` seconds of audio; an item longer than that is
a unit alone (a recording is never split).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def pack(items: Sequence[T], seconds: Callable[[T], float], limit_s: float) -> list[list[T]]:
    """Consecutive items, at most `limit_s` seconds of audio a unit (a longer item alone)."""
    units: list[list[T]] = []
    current: list[T] = []
    total = 0.0
    for item in items:
        length = seconds(item)
        if current and total + length > limit_s:
            units.append(current)
            current, total = [], 0.0
        current.append(item)
        total += length
    if current:
        units.append(current)
    return units


def unit_name(day: str, index: int) -> str:
    """A unit's step mapping key: letters, digits and underscores only."""
    return f"{day.replace('-', '')}_u{index:03d}"
