"""Run a Great Expectations (GX Core 1.x) suite on a polars DataFrame and return a CheckOutcome.

dagster-ge only supports GX 0.x, hence this adapter. One ephemeral GX context per process
(creating it is cheap, importing GX is not); analytics off and progress bars off so GX stays
out of the logs (its INFO chatter is lowered in emotion_assets/foundation/quiet.py). A lock keeps
concurrent callers (threads) from racing on the shared context.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from typing import Any

import polars as pl
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.exceptions import DataContextError

from emotion_assets.quality._gx import gx
from emotion_assets.quality.outcome import MAX_TEXT, CheckOutcome, Severity, combine

DATASOURCE = "emotion_assets_quality"
BATCH_DEFINITION = "whole_dataframe"
RESULT_FORMAT = "SUMMARY"  # counts + a few unexpected values; COMPLETE would list every row

_lock = threading.Lock()
_context: Any = None


def gx_context() -> Any:
    """The process-wide ephemeral context (created on first use)."""
    global _context
    if _context is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # read when a context is made
        ctx = gx.get_context(mode="ephemeral")
        ctx.config.analytics_enabled = False
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        ctx.data_sources.add_pandas(DATASOURCE)
        _context = ctx
    return _context


def _batch_definition(ctx: Any, asset_name: str) -> Any:
    datasource = ctx.data_sources.get(DATASOURCE)
    if asset_name in datasource.get_asset_names():
        return datasource.get_asset(asset_name).get_batch_definition(BATCH_DEFINITION)
    asset = datasource.add_dataframe_asset(asset_name)
    return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def _columns_of(expectations: Sequence[Any]) -> set[str]:
    """The columns the expectations name (table-level ones name none)."""
    names: set[str] = set()
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if kwargs.get(key):
                names.add(kwargs[key])
        names.update(kwargs.get("column_list") or ())
    return names


def _to_pandas(df: pl.DataFrame, columns: set[str]) -> Any:
    """Only the named columns (a day's frame table has ~30 and millions of rows; its suite
    reads two). A named column the table lacks stays absent, so its expectation fails as it
    should. Nested columns (embeddings) become object columns of numpy arrays."""
    keep = [c for c in df.columns if c in columns] or df.columns[:1]  # one keeps the row count
    return df.select(keep).to_pandas()


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _observed(result: Any) -> str:
    """A short text for what a failing expectation saw."""
    info = result.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return "error: " + _short(info.get("exception_message"), 120)
    for nested in info.values() if isinstance(info, dict) else ():
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return "error: " + _short(nested.get("exception_message"), 120)
    found = result.result or {}
    if "unexpected_count" in found:
        sample = (found.get("partial_unexpected_list") or [])[:3]
        return f"{found['unexpected_count']} unexpected, e.g. {_short(sample)}"
    if "observed_value" in found:
        return f"observed {_short(found['observed_value'])}"
    return (
        "column absent" if result.expectation_config.type == "expect_column_to_exist" else "failed"
    )


def _label(config: Any) -> str:
    kwargs = config.kwargs or {}
    target = kwargs.get("column") or kwargs.get("column_list") or kwargs.get("column_A")
    return f"{config.type}({target})" if target else str(config.type)


def outcome_from_result(result: Any, suite_name: str, severity: Severity) -> CheckOutcome:
    """ExpectationSuiteValidationResult -> CheckOutcome (passed = result.success)."""
    stats = result.statistics
    failing = [r for r in result.results if not r.success]
    metadata: dict[str, str | int | float | bool] = {
        "suite": suite_name,
        "evaluated_expectations": int(stats["evaluated_expectations"]),
        "successful_expectations": int(stats["successful_expectations"]),
        "unsuccessful_expectations": int(stats["unsuccessful_expectations"]),
        "success_percent": float(stats["success_percent"] or 0.0),
    }
    if failing:
        metadata["failing_expectation_types"] = ", ".join(
            sorted({str(r.expectation_config.type) for r in failing})
        )[:MAX_TEXT]
        metadata["failing_expectations"] = "; ".join(
            f"{_label(r.expectation_config)}: {_observed(r)}" for r in failing
        )[:MAX_TEXT]
        metadata[FAILING_LABELS] = LABEL_SEPARATOR.join(
            sorted({_label(r.expectation_config) for r in failing})
        )
        description = FAILED.format_map(metadata)
    else:
        description = (
            f"GX suite {suite_name}: all {metadata['evaluated_expectations']} expectations met"
        )
    return CheckOutcome(bool(result.success), severity, description, metadata, FAILED)


FAILED = (
    "GX suite {suite}: {unsuccessful_expectations} of {evaluated_expectations} expectations failed"
)
FAILING_LABELS = "failing_expectation_labels"
LABEL_SEPARATOR = " | "


def combine_outcomes(parts: Sequence[CheckOutcome]) -> CheckOutcome:
    """A suite's outcome on a day from its outcomes on the day's groups of recordings: an
    expectation fails on the day when it fails on any group (counted once)."""
    day = combine(parts)
    if len(parts) == 1:
        return day
    labels = {
        label
        for part in parts
        for label in str(part.metadata.get(FAILING_LABELS, "")).split(LABEL_SEPARATOR)
        if label
    }
    evaluated = int(day.metadata["evaluated_expectations"])
    metadata = {
        **day.metadata,
        FAILING_LABELS: LABEL_SEPARATOR.join(sorted(labels)),
        "failing_expectation_types": ", ".join(sorted({x.split("(")[0] for x in labels})),
        "unsuccessful_expectations": len(labels),
        "successful_expectations": evaluated - len(labels),
        "success_percent": 100.0 * (evaluated - len(labels)) / evaluated if evaluated else 0.0,
    }
    if not labels:
        for key in (FAILING_LABELS, "failing_expectation_types"):
            metadata.pop(key)
    description = day.description if day.passed else FAILED.format_map(metadata)
    return CheckOutcome(day.passed, day.severity, description, metadata, FAILED)


def run_suite(
    df: pl.DataFrame,
    suite_name: str,
    expectations: Sequence[gx.expectations.Expectation],
    severity: Severity = "error",
) -> CheckOutcome:
    """Validate the whole `df` against `expectations` as suite `suite_name`."""
    pdf = _to_pandas(df, _columns_of(expectations))
    with _lock:
        ctx = gx_context()
        batch_definition = _batch_definition(ctx, suite_name)
        # Replace, not reuse: the same name may come with a different expectation list.
        for store in (ctx.validation_definitions, ctx.suites):
            with contextlib.suppress(DataContextError):  # absent on first use
                store.delete(suite_name)
        suite = ctx.suites.add(
            gx.ExpectationSuite(
                name=suite_name,
                expectations=[e.copy(update={"id": None}, deep=True) for e in expectations],
            )
        )
        validation = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
        )
        result = validation.run(batch_parameters={"dataframe": pdf}, result_format=RESULT_FORMAT)
    return outcome_from_result(result, suite_name, severity)
