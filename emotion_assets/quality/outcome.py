"""The result every quality check returns: small, JSON-serialisable, Dagster-free."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

Severity = Literal["error", "warn"]
MetadataValue = str | int | float | bool

# How many offending rows a check quotes, and how long that text may get (Dagster UI / logs).
MAX_OFFENDERS = 5
MAX_TEXT = 600


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: Severity
    description: str
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    # The failing description as a str.format template over `metadata`: the outcome of a day
    # checked a group of recordings at a time says it again with the day's counts (combine).
    template: str = ""


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def describe_rows(rows: pl.DataFrame, columns: Sequence[str] | None = None) -> str:
    """'recording_id=ab track=0 angry=1.2; ...' for the first few rows (short, for metadata)."""
    cols = [c for c in (columns or rows.columns) if c in rows.columns]
    parts = [
        " ".join(f"{c}={_fmt(row[c])}" for c in cols)
        for row in rows.head(MAX_OFFENDERS).iter_rows(named=True)
    ]
    text = "; ".join(parts)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def outcome_from_offenders(
    *,
    offenders: pl.DataFrame,
    n_checked: int,
    severity: Severity,
    ok: str,
    bad: str,
    columns: Sequence[str] | None = None,
    extra: dict[str, MetadataValue] | None = None,
) -> CheckOutcome:
    """Pass when `offenders` is empty; otherwise quote the first few of them."""
    n_bad = offenders.height
    metadata: dict[str, MetadataValue] = {"rows_checked": n_checked, "offenders": n_bad}
    if n_bad:
        metadata["first_offenders"] = describe_rows(offenders, columns)
    metadata.update(extra or {})
    template = _literal(bad) + " ({offenders} of {rows_checked})"
    description = ok if n_bad == 0 else template.format_map(metadata)
    return CheckOutcome(n_bad == 0, severity, description, metadata, template)


def _literal(text: str) -> str:
    """`text` as a str.format template that prints it unchanged."""
    return text.replace("{", "{{").replace("}", "}}")


# How the outcomes of one check on a day's groups of recordings add up to the day's (combine):
# counts add up; these keys keep the smallest / largest / one shared value; texts keep the
# failing groups' first lines.
LOWEST_PREFIX = "min_"
HIGHEST_PREFIX = "max_"
SHARED_KEYS = frozenset(
    {"tolerance", "columns_expected", "columns_found", "evaluated_expectations"}
)


def _combined_value(key: str, values: list[MetadataValue]) -> MetadataValue:
    if isinstance(values[0], str):
        distinct = list(dict.fromkeys(v for v in values if v != ""))
        text = "; ".join(str(v) for v in distinct)
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."
    if isinstance(values[0], bool):
        return all(values)
    if key.startswith(LOWEST_PREFIX):
        return min(values)
    if key.startswith(HIGHEST_PREFIX) or key in SHARED_KEYS:
        return max(values)
    return sum(values)


def combine(parts: Sequence[CheckOutcome]) -> CheckOutcome:
    """One day's outcome of a check run on each group of the day's recordings: it passes when
    every group passed; counts are the day's sums, extremes the day's extremes, and the quoted
    offenders those of the first failing groups (failing groups' texts come first)."""
    if len(parts) == 1:
        return parts[0]
    failing = [p for p in parts if not p.passed]
    ordered = failing + [p for p in parts if p.passed]
    keys = dict.fromkeys(k for p in ordered for k in p.metadata)
    metadata = {
        k: _combined_value(k, [p.metadata[k] for p in ordered if k in p.metadata]) for k in keys
    }
    first = ordered[0]
    if not failing:
        description = first.description
    elif first.template:
        description = first.template.format_map(metadata)
    else:
        description = first.description
    return CheckOutcome(not failing, first.severity, description, metadata, first.template)


def missing_columns(
    df: pl.DataFrame, required: Sequence[str], severity: Severity, table: str
) -> CheckOutcome | None:
    """A failed outcome when columns a check needs are absent (instead of a polars exception)."""
    missing = [c for c in required if c not in df.columns]
    if not missing:
        return None
    return CheckOutcome(
        False,
        severity,
        f"{table}: cannot check, missing columns {', '.join(missing)}",
        {"missing_columns": ", ".join(missing), "rows_checked": df.height},
    )
