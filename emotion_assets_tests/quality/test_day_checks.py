"""A day's checks run a group of recordings at a time (quality/day_checks.py) say what the
same checks say on the whole day: the same verdict, the same counts, the same headline."""

from __future__ import annotations

from collections import defaultdict

import polars as pl
import pytest

from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.foundation.work_units import recording_groups
from emotion_assets.quality.day_checks import check_day
from emotion_assets.quality.registry import BY_RECORDING, CheckSpec, all_checks
from emotion_assets_tests.quality.synthetic import DATE, set_value, synthetic_lake

DAY = DATE.isoformat()
WHOLE_DAY = 1e9  # seconds: every recording in one group
# Texts that quote the first offenders: the groups' first lines, not the day's.
QUOTES = {"first_offenders", "failing_expectations", "unexpected_values"}


def _by_table() -> dict[str, list[CheckSpec]]:
    specs: dict[str, list[CheckSpec]] = defaultdict(list)
    for spec in all_checks(with_gx=True):
        if spec.table in BY_RECORDING:
            specs[spec.table].append(spec)
    return specs


def _healthy() -> dict[str, pl.DataFrame]:
    lake = synthetic_lake(durations_s=(3.0, 2.17, 4.0, 1.5, 2.5), segments_per_track=3, seed=3)
    return {**lake, "smoothed_emotion_curves": smooth_frames(lake["frame_emotion_scores"])}


def _broken() -> dict[str, pl.DataFrame]:
    """Faults in different recordings, so different groups fail different rules."""
    lake = _healthy()
    frames = lake["frame_emotion_scores"]
    ids = frames["recording_id"].unique(maintain_order=True).to_list()
    first = frames.filter(pl.col("recording_id") == ids[0])
    fourth_start = frames.with_row_index().filter(pl.col("recording_id") == ids[3])["index"][0]
    frames = set_value(frames, 5, "angry", 1.5)  # out of range, sum off (recording 1)
    frames = set_value(frames, 7, "model_id", None)  # GX not-null (recording 1)
    frames = set_value(frames, fourth_start + 9, "top_emotion", "angry")  # maybe not the argmax
    frames = set_value(frames, fourth_start + 11, "sad", 0.9)  # sum off (recording 4)
    frames = set_value(frames, fourth_start + 12, "is_speech", None)  # another GX rule
    frames = pl.concat(
        [
            frames.filter(pl.int_range(pl.len()) != fourth_start + 20),  # a gap (recording 4)
            first.head(2).with_columns(pl.lit(None, pl.String).alias("recording_id")),
        ]
    )
    audio = lake["normalized_audio"]
    lonely = audio.head(1).with_columns(pl.lit("f" * 16).alias("recording_id"))  # no frames
    utterances = set_value(lake["utterance_emotion_scores"], 17, "happy", 0.99)
    smoothed = lake["smoothed_emotion_curves"]
    smoothed = pl.concat([smoothed, smoothed.slice(fourth_start + 3, 2)])  # repeated keys
    return {
        **lake,
        "smoothed_emotion_curves": smoothed,
        "frame_emotion_scores": frames,
        "normalized_audio": pl.concat([audio, lonely]),
        "utterance_emotion_scores": utterances,
    }


def _counts(metadata: dict) -> dict:
    return {k: v for k, v in metadata.items() if k not in QUOTES}


@pytest.mark.parametrize("make", [_healthy, _broken], ids=["healthy", "broken"])
@pytest.mark.parametrize("table", sorted(BY_RECORDING & set(_by_table())))
def test_groups_of_recordings_give_the_whole_days_outcome(make, table: str) -> None:
    lake = make()
    specs = _by_table()[table]
    tables = {name: lake[name].lazy() for spec in specs for name in spec.inputs}
    whole = check_day(specs, tables, DAY, WHOLE_DAY)
    grouped = check_day(specs, tables, DAY, limit_s=3.5)
    for one, many in zip(whole, grouped, strict=True):
        assert (many.spec.name, many.rows) == (one.spec.name, one.rows)
        assert many.outcome.passed == one.outcome.passed, one.spec.name
        assert many.outcome.description == one.outcome.description, one.spec.name
        assert _counts(many.outcome.metadata) == pytest.approx(_counts(one.outcome.metadata))
        assert many.outcome.metadata.keys() == one.outcome.metadata.keys()


def test_the_broken_day_fails_in_more_than_one_group() -> None:
    """The comparison above means something: the day is checked in several groups, and the
    faults sit in different groups, each caught."""
    lake = _broken()
    specs = _by_table()["frame_emotion_scores"]
    tables = {name: lake[name].lazy() for spec in specs for name in spec.inputs}
    failed = {r.spec.name for r in check_day(specs, tables, DAY, 3.5) if not r.outcome.passed}
    assert {
        "frame_scores_in_range",
        "frame_scores_sum_to_one",
        "frame_timeline",
        "frame_counts",  # the track with audio and no frames, and the gap
        "frame_emotion_scores_not_null_keys",  # the rows without a recording_id
        "frame_emotion_scores_gx_suite",
    } <= failed
    groups = recording_groups(lake["frame_emotion_scores"].lazy(), 3.5, [lake["normalized_audio"]])
    assert len(groups) >= 3 and None in groups[-1] and "f" * 16 in groups[0]
