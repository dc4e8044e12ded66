"""Small helpers shared by the asset modules."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import polars as pl
from dagster import AssetExecutionContext, Failure, RetryPolicy

from emotion_assets.analytics.by_recording import by_recording
from emotion_assets.defs.partitions import not_a_partition
from emotion_assets.foundation.work_units import Table, filter_day

# Transient failures (a busy disk, a flaky network share) are retried; bad input is not an
# error at all: it is quarantined and the partition succeeds.
retry_policy = RetryPolicy(max_retries=2, delay=5)

# Run tag: decode and score every recording of the run's days again, kept rows or not
# (`make run DAY=... FULL=1`, or the tag added in the UI's launch dialog).
RECOMPUTE_TAG = "emotion/recompute"


@contextmanager
def not_retried(*errors: type[Exception]) -> Iterator[None]:
    """`errors` (no model, a bad setting) fail the step at once: retrying cannot fix them.

    Their one-sentence message becomes the failure's description, so the run's headline says
    what to do instead of "Exceeded max_retries of 2".
    """
    try:
        yield
    except errors as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc


def run_days(context: AssetExecutionContext) -> list[str]:
    """The days this run covers (one `dagster/partition` or a range), each a real partition.

    A day outside the partitions fails at once, in one sentence and without retries: a retry
    cannot move a folder into the partition range.
    """
    # The range's ends are checked first: Dagster cannot even list the keys of a range that
    # leaves the partitions (an invariant error that a user should never see).
    key_range = context.partition_key_range
    ends = dict.fromkeys((key_range.start, key_range.end))
    partitions = context.assets_def.partitions_def
    problems = [text for day in ends if (text := not_a_partition(day, partitions))]
    if problems:
        raise Failure(description=" ".join(problems), allow_retries=False)
    return list(context.partition_keys)


def per_day_groups(
    context: AssetExecutionContext,
    frames: pl.LazyFrame,
    inputs: dict[str, Table],
    compute: Callable[..., pl.DataFrame],
    limit_s: float,
) -> dict[str, Iterator[pl.DataFrame]]:
    """For each day of the run, `compute` over its recordings a group at a time (groups of a
    work unit's audio): the step holds one group's frames, never the day's."""
    return {
        day: by_recording(
            filter_day(frames, day),
            {name: filter_day(table, day) for name, table in inputs.items()},
            compute,
            limit_s,
        )
        for day in context.partition_keys
    }


def collected(chunks: dict[str, Iterator[pl.DataFrame]]) -> pl.DataFrame:
    """Small per-recording tables (a row per track, segment or bucket) in one DataFrame."""
    return pl.concat([part for parts in chunks.values() for part in parts], how="vertical")
