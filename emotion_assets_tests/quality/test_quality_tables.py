"""Generic table checks (schema, keys, enumerations, shares), schemas.conform and the registry."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emotion_assets.contracts import CONTRACT_SCHEMAS, TABLE_KEYS, TABLE_SCHEMAS, conform
from emotion_assets.quality import (
    check_allowed_values,
    check_fractions,
    check_not_null_keys,
    check_schema,
    check_unique_keys,
)
from emotion_assets.quality.registry import all_checks
from emotion_assets_tests.quality.synthetic import run_checks, set_value


def test_every_contract_table_has_schema_and_keys(lake):
    assert set(CONTRACT_SCHEMAS) == set(lake)
    assert set(TABLE_SCHEMAS) == set(TABLE_KEYS) >= set(CONTRACT_SCHEMAS)  # + derived tables
    for table, df in lake.items():
        assert check_schema(df, table).passed, table
        assert check_unique_keys(df, table).passed, table
        assert check_not_null_keys(df, table).passed, table
        assert check_allowed_values(df, table).passed, table
        assert set(TABLE_KEYS[table]) <= set(TABLE_SCHEMAS[table]), table


def test_missing_column_fails_schema(lake):
    outcome = check_schema(lake["speech_segments"].drop("t_end"), "speech_segments")
    assert not outcome.passed
    assert outcome.metadata["missing_columns"] == "t_end"


def test_incompatible_dtype_fails_schema(lake):
    frames = lake["frame_emotion_scores"].with_columns(pl.col("frame_idx").cast(pl.String))
    outcome = check_schema(frames, "frame_emotion_scores")
    assert not outcome.passed
    assert "frame_idx" in outcome.metadata["incompatible_dtypes"]


def test_wider_int_is_compatible_but_flagged_for_cast(lake):
    norm = lake["normalized_audio"].with_columns(pl.col("track").cast(pl.Int64))
    outcome = check_schema(norm, "normalized_audio")
    assert outcome.passed
    assert "track: Int64->Int32" in outcome.metadata["cast_needed"]
    assert conform(norm, "normalized_audio").schema["track"] == pl.Int32


def test_conform_refuses_values_it_cannot_cast(lake):
    norm = lake["normalized_audio"].with_columns(pl.col("track").cast(pl.String))
    bad = set_value(norm, 0, "track", "left")
    with pytest.raises(pl.exceptions.InvalidOperationError):
        conform(bad, "normalized_audio")


def test_duplicate_segment_key_fails(lake):
    segs = lake["speech_segments"]
    broken = set_value(segs, 1, "segment_idx", 0)
    outcome = check_unique_keys(broken, "speech_segments")
    assert not outcome.passed
    assert "segment_idx=0" in outcome.metadata["first_offenders"]
    assert "copies=2" in outcome.metadata["first_offenders"]


def test_null_key_fails_but_documented_nullable_key_passes(lake):
    outcome = check_not_null_keys(
        set_value(lake["normalized_audio"], 0, "track", None), "normalized_audio"
    )
    assert not outcome.passed
    assert outcome.metadata["nulls_track"] == 1
    # quarantine rows may lack a recording_id (the synthetic one does)
    assert lake["quarantine"]["recording_id"].null_count() == 1
    assert check_not_null_keys(lake["quarantine"], "quarantine").passed


def test_unknown_status_fails_allowed_values(lake):
    outcome = check_allowed_values(
        set_value(lake["raw_recordings"], 0, "status", "lost"), "raw_recordings"
    )
    assert not outcome.passed
    assert outcome.metadata["unexpected_values"] == "status: lost"


def test_share_of_1_3_fails_fractions():
    mart = pl.DataFrame(
        {
            "speaker": ["a", "b", "c"],
            "happy_share": [0.2, 1.3, 0.5],
            "speech_fraction": [0.1, 0.9, None],
        }
    )
    outcome = check_fractions(mart, "emotion_by_speaker")
    assert not outcome.passed
    assert outcome.metadata["outside_happy_share"] == 1
    assert outcome.metadata["outside_speech_fraction"] == 0
    assert "happy_share=1.3" in outcome.metadata["first_offenders"]
    assert check_fractions(set_value(mart, 1, "happy_share", 0.3), "emotion_by_speaker").passed


def test_fractions_check_finds_clipped_fraction(lake):
    broken = set_value(lake["normalized_audio"], 0, "clipped_fraction", 1.3)
    outcome = check_fractions(broken, "normalized_audio")
    assert not outcome.passed
    assert outcome.metadata["columns"] == "clipped_fraction"


def test_registry_runs_everything_green_on_good_tables(lake):
    outcomes = run_checks(lake, with_gx=False)
    specs = all_checks(with_gx=False)
    assert set(outcomes) == {spec.name for spec in specs if spec.table in CONTRACT_SCHEMAS}
    failed = {name: o.description for name, o in outcomes.items() if not o.passed}
    assert not failed
    json.dumps({name: o.metadata for name, o in outcomes.items()})


def test_registry_blocks_only_on_frame_scores(lake):
    specs = all_checks(with_gx=True)
    for spec in specs:
        assert spec.inputs[0] == spec.table
        assert spec.table in TABLE_SCHEMAS
    blocking = [spec for spec in specs if spec.blocking]
    assert {spec.table for spec in blocking} == {"frame_emotion_scores"}
    assert {
        "frame_scores_in_range",
        "frame_scores_sum_to_one",
        "frame_scores_not_null",
        "frame_counts",
        "frame_timeline",
        "frame_top_emotion",
        "frame_emotion_scores_unique_keys",
    } <= {spec.name for spec in blocking}
    for spec in blocking:  # a blocking check must report an error, not a warning
        assert spec.run(*(lake[t] for t in spec.inputs)).severity == "error"
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names))


def test_registry_reports_the_broken_frame(lake):
    broken = dict(lake)
    broken["frame_emotion_scores"] = set_value(lake["frame_emotion_scores"], 3, "fearful", 1.2)
    outcomes = run_checks(broken, with_gx=False)
    assert not outcomes["frame_scores_in_range"].passed
    assert outcomes["utterance_scores"].passed  # the utterance rows themselves are untouched
