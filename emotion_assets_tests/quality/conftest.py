"""Fixtures for the data-quality tests: a small synthetic lake that passes every check."""

from __future__ import annotations

import polars as pl
import pytest

from emotion_assets_tests.quality.synthetic import synthetic_lake


@pytest.fixture(scope="module")
def lake() -> dict[str, pl.DataFrame]:
    # polars frames are immutable: sharing one lake per module is safe.
    return synthetic_lake(durations_s=(3.0, 2.17), segments_per_track=3, seed=7)
