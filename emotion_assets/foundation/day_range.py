"""Which day folders are partitions: the one-sentence answer for a folder outside the range.

Pure module (no Dagster): the asset wiring and the raw-folder sensor both ask it.
"""

from __future__ import annotations


def outside_partitions(day: str, first: str, last: str) -> str | None:
    """None when `day` lies in [first, last] (ISO dates); otherwise why it is not a partition."""
    if first <= day <= last:
        return None
    where = "before the first partition" if day < first else "after the last partition"
    return (
        f"data/raw/{day}/ is not a partition: {day} is {where} (partitions run from {first} "
        f"(EMOTION_PARTITION_START) to {last}), so it is not processed."
    )
