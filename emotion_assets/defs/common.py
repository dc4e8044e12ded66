"""Small helpers shared by the asset modules."""

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
from dagster import Failure, RetryPolicy

# Transient failures (a busy disk, a flaky network share) are retried; bad input is not an
# error at all: it is quarantined and the partition succeeds.
retry_policy = RetryPolicy(max_retries=2, delay=5)


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


def filter_day(df: pl.DataFrame, day: str) -> pl.DataFrame:
    return df.filter(pl.col("recording_date").cast(pl.Utf8) == day)
