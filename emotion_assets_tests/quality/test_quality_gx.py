"""The Great Expectations adapter and the per-table suites (GX Core 1.x, ephemeral context)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emotion_assets.quality.gx_adapter import gx, gx_context, run_suite
from emotion_assets.quality.schemas import CONTRACT_TABLES
from emotion_assets.quality.suites import SUITES, suite_for
from emotion_assets.quality.synthetic import set_value

FRAMES = "frame_emotion_scores"


def test_every_table_has_a_suite_that_passes_good_data(lake):
    assert set(SUITES) == set(CONTRACT_TABLES)
    for table, df in lake.items():
        outcome = run_suite(df, table, suite_for(table))
        assert outcome.passed, (table, outcome.metadata)
        assert outcome.metadata["unsuccessful_expectations"] == 0
        assert outcome.metadata["evaluated_expectations"] == len(suite_for(table))
        assert outcome.metadata["success_percent"] == 100.0
        json.dumps(outcome.metadata)


def test_score_above_one_names_the_failing_expectation(lake):
    broken = set_value(lake[FRAMES], 8, "happy", 1.2)
    outcome = run_suite(broken, FRAMES, suite_for(FRAMES))
    assert not outcome.passed
    assert outcome.metadata["unsuccessful_expectations"] == 1
    assert outcome.metadata["failing_expectation_types"] == "expect_column_values_to_be_between"
    failing = outcome.metadata["failing_expectations"]
    assert "expect_column_values_to_be_between(happy)" in failing
    assert "1 unexpected" in failing and "1.2" in failing
    assert outcome.metadata["success_percent"] < 100.0


def test_missing_column_and_duplicate_key_fail(lake):
    segs = lake["speech_segments"]
    broken = set_value(segs, 1, "segment_idx", 0).drop("duration_s")
    outcome = run_suite(broken, "speech_segments", suite_for("speech_segments"))
    assert not outcome.passed
    types = outcome.metadata["failing_expectation_types"]
    assert "expect_column_to_exist" in types
    assert "expect_compound_columns_to_be_unique" in types


def test_unknown_enumeration_value_fails(lake):
    broken = set_value(lake["utterance_emotion_scores"], 0, "scope", "sentence")
    outcome = run_suite(broken, "utterance_emotion_scores", suite_for("utterance_emotion_scores"))
    assert not outcome.passed
    assert "expect_column_values_to_be_in_set(scope)" in outcome.metadata["failing_expectations"]
    assert "sentence" in outcome.metadata["failing_expectations"]


def test_empty_reason_and_empty_frames_fail(lake):
    q = set_value(lake["quarantine"], 0, "reason", "")
    assert not run_suite(q, "quarantine", suite_for("quarantine")).passed
    empty = lake[FRAMES].clear()
    outcome = run_suite(empty, FRAMES, suite_for(FRAMES))
    assert not outcome.passed
    assert "expect_table_row_count_to_be_between" in outcome.metadata["failing_expectation_types"]


def test_same_suite_name_with_new_expectations_replaces_the_suite(lake):
    frames = lake[FRAMES]
    strict = [gx.expectations.ExpectColumnValuesToBeBetween(column="happy", max_value=0.0)]
    assert not run_suite(frames, "adhoc", strict).passed
    relaxed = [gx.expectations.ExpectColumnValuesToBeBetween(column="happy", max_value=1.0)]
    outcome = run_suite(frames, "adhoc", relaxed)
    assert outcome.passed
    assert outcome.metadata["evaluated_expectations"] == 1


def test_one_context_per_process_with_progress_bars_off():
    ctx = gx_context()
    assert gx_context() is ctx
    assert ctx.variables.progress_bars.globally is False


def test_nothing_printed_by_gx(lake, capfd):
    run_suite(lake["normalized_audio"], "normalized_audio", suite_for("normalized_audio"))
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "Calculating Metrics" not in captured.err


@pytest.mark.parametrize("severity", ["warn", "error"])
def test_severity_is_passed_through(lake, severity):
    df = pl.DataFrame({"x": [1]})
    expectation = [gx.expectations.ExpectColumnToExist(column="x")]
    assert run_suite(df, "sev", expectation, severity=severity).severity == severity
