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
    description = ok if n_bad == 0 else f"{bad} ({n_bad} of {n_checked})"
    return CheckOutcome(n_bad == 0, severity, description, metadata)


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
