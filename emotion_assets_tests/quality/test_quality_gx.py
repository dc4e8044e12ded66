"""The Great Expectations adapter and the per-table suites (GX Core 1.x, ephemeral context)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emotion_assets.contracts import CONTRACT_SCHEMAS
from emotion_assets.quality.gx_adapter import gx, run_suite
from emotion_assets.quality.suites import SUITES, suite_for
from emotion_assets_tests.quality.synthetic import set_value

FRAMES = "frame_emotion_scores"


def test_every_table_has_a_suite_that_passes_good_data(lake):
    assert set(SUITES) == set(CONTRACT_SCHEMAS)
    for table, df in lake.items():
        outcome = run_suite(df, table, suite_for(table))
        assert outcome.passed, (table, outcome.metadata)
        assert outcome.metadata["unsuccessful_expectations"] == 0
        json.dumps(outcome.metadata)


def test_suites_leave_the_contract_structure_to_the_polars_checks():
    """One home per rule: columns, keys and enumerations are table_checks' (every table)."""
    structural = {"expect_column_to_exist", "expect_compound_columns_to_be_unique"}
    structural |= {"expect_column_values_to_be_in_set", "expect_table_columns_to_match_set"}
    for table in SUITES:
        assert not {e.expectation_type for e in suite_for(table)} & structural, table


def test_a_malformed_identifier_names_the_failing_expectation(lake):
    broken = set_value(lake["raw_recordings"], 0, "recording_id", "not-a-hash")
    outcome = run_suite(broken, "raw_recordings", suite_for("raw_recordings"))
    assert not outcome.passed
    assert outcome.metadata["unsuccessful_expectations"] == 1
    failing = outcome.metadata["failing_expectations"]
    assert "expect_column_values_to_match_regex(recording_id)" in failing
    assert "not-a-hash" in failing and outcome.metadata["success_percent"] < 100.0


def test_missing_model_id_and_empty_frames_fail(lake):
    nameless = set_value(lake[FRAMES], 3, "model_id", None)
    outcome = run_suite(nameless, FRAMES, suite_for(FRAMES))
    assert (
        "expect_column_values_to_not_be_null(model_id)" in outcome.metadata["failing_expectations"]
    )
    empty = lake[FRAMES].clear()
    outcome = run_suite(empty, FRAMES, suite_for(FRAMES))
    assert not outcome.passed
    assert "expect_table_row_count_to_be_between" in outcome.metadata["failing_expectation_types"]


def test_a_zero_length_segment_fails(lake):
    broken = set_value(lake["speech_segments"], 1, "duration_s", 0.0)
    outcome = run_suite(broken, "speech_segments", suite_for("speech_segments"))
    assert not outcome.passed
    assert "duration_s" in outcome.metadata["failing_expectations"]


def test_same_suite_name_with_new_expectations_replaces_the_suite(lake):
    frames = lake[FRAMES]
    strict = [gx.expectations.ExpectColumnValuesToBeBetween(column="happy", max_value=0.0)]
    assert not run_suite(frames, "adhoc", strict).passed
    relaxed = [gx.expectations.ExpectColumnValuesToBeBetween(column="happy", max_value=1.0)]
    outcome = run_suite(frames, "adhoc", relaxed)
    assert outcome.passed
    assert outcome.metadata["evaluated_expectations"] == 1


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


def test_a_suite_sees_the_columns_it_names_and_the_row_count(lake):
    """Only named columns reach GX (the frame table has ~30): a table-level expectation still
    counts the rows, and a named column the table lacks still fails its expectation."""
    frames = lake[FRAMES]
    rows = [gx.expectations.ExpectTableRowCountToBeBetween(min_value=frames.height)]
    assert run_suite(frames, "rows_only", rows).passed
    too_many = [gx.expectations.ExpectTableRowCountToBeBetween(min_value=frames.height + 1)]
    assert not run_suite(frames, "rows_only", too_many).passed
    missing = [gx.expectations.ExpectColumnValuesToNotBeNull(column="no_such_column")]
    outcome = run_suite(frames, "missing", missing)
    assert not outcome.passed
    assert "no_such_column" in outcome.metadata["failing_expectations"]
