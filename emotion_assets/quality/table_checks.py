"""Checks that apply to any contract table: schema, unique keys, not-null keys, allowed values,
and every `*_share` / `*_fraction` column within [0, 1]."""

from __future__ import annotations

import polars as pl

from emotion_assets.contracts import (
    ALLOWED_VALUES,
    TABLE_KEYS,
    TABLE_SCHEMAS,
    dtype_compatible,
    not_null_keys,
)
from emotion_assets.quality.outcome import (
    CheckOutcome,
    Severity,
    missing_columns,
    outcome_from_offenders,
)


def check_schema(df: pl.DataFrame, table: str, severity: Severity = "error") -> CheckOutcome:
    """Every contract column present with a compatible dtype (int width / float width may differ;
    `cast_needed` lists those so the wiring can `conform`)."""
    expected = TABLE_SCHEMAS[table]
    missing = [c for c in expected if c not in df.columns]
    incompatible = [
        f"{c}: {df.schema[c]} (want {t})"
        for c, t in expected.items()
        if c in df.columns and not dtype_compatible(df.schema[c], t)
    ]
    cast_needed = [
        f"{c}: {df.schema[c]}->{t}"
        for c, t in expected.items()
        if c in df.columns
        and dtype_compatible(df.schema[c], t)
        and df.schema[c] != t
        and not isinstance(t, pl.Array)
    ]
    passed = not missing and not incompatible
    metadata: dict[str, str | int | float | bool] = {
        "columns_expected": len(expected),
        "columns_found": len(df.columns),
        "missing_columns": ", ".join(missing),
        "incompatible_dtypes": "; ".join(incompatible),
        "cast_needed": "; ".join(cast_needed),
        "extra_columns": ", ".join(c for c in df.columns if c not in expected),
    }
    if passed:
        description = f"{table}: all {len(expected)} contract columns present, dtypes compatible"
    else:
        description = (
            f"{table}: schema differs from docs/CONTRACTS.md "
            f"({len(missing)} missing, {len(incompatible)} incompatible)"
        )
    return CheckOutcome(passed, severity, description, metadata)


def check_unique_keys(df: pl.DataFrame, table: str, severity: Severity = "error") -> CheckOutcome:
    """No two rows share the table's key (TABLE_KEYS; nulls count as equal)."""
    keys = list(TABLE_KEYS[table])
    if (bad := missing_columns(df, keys, severity, table)) is not None:
        return bad
    dupes = (
        df.group_by(keys)
        .agg(pl.len().alias("copies"))
        .filter(pl.col("copies") > 1)
        .sort("copies", descending=True)
    )
    return outcome_from_offenders(
        offenders=dupes,
        n_checked=df.height,
        severity=severity,
        ok=f"{table}: unique on ({', '.join(keys)})",
        bad=f"{table}: duplicate keys ({', '.join(keys)})",
        extra={"key": ", ".join(keys), "duplicated_rows": int(dupes["copies"].sum())},
    )


def check_not_null_keys(df: pl.DataFrame, table: str, severity: Severity = "error") -> CheckOutcome:
    """Key columns (except the documented nullable ones) are never null."""
    keys = list(not_null_keys(table))
    if (bad := missing_columns(df, keys, severity, table)) is not None:
        return bad
    offenders = df.filter(pl.any_horizontal(pl.col(keys).is_null()))
    counts = {f"nulls_{c}": int(df[c].null_count()) for c in keys}
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=df.height,
        severity=severity,
        ok=f"{table}: no null keys",
        bad=f"{table}: null key values",
        columns=list(TABLE_KEYS[table]),
        extra=counts,
    )


def check_allowed_values(
    df: pl.DataFrame, table: str, severity: Severity = "error"
) -> CheckOutcome:
    """Enumerated columns (status, scope, source, stage, channel_mode, top_emotion) hold only
    their documented values (nulls are another check's business)."""
    allowed = ALLOWED_VALUES.get(table, {})
    if (bad := missing_columns(df, list(allowed), severity, table)) is not None:
        return bad
    metadata: dict[str, str | int | float | bool] = {"rows_checked": df.height}
    failures = []
    for column, values in allowed.items():
        wrong = df.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(values)))
        metadata[f"unexpected_{column}"] = wrong.height
        if wrong.height:
            seen = wrong[column].unique().sort().head(5).to_list()
            failures.append(f"{column}: {', '.join(map(str, seen))}")
    if failures:
        metadata["unexpected_values"] = "; ".join(failures)
        return CheckOutcome(False, severity, f"{table}: values outside their sets", metadata)
    return CheckOutcome(True, severity, f"{table}: enumerated columns within their sets", metadata)


def _outside_unit(df: pl.DataFrame, column: str) -> pl.Expr:
    value = pl.col(column)
    bad = value.is_not_null() & ((value < 0) | (value > 1))
    if df.schema[column].is_float():
        bad = bad | value.is_nan()
    return bad


def fraction_columns(df: pl.DataFrame) -> list[str]:
    return [c for c in df.columns if c.endswith(("_share", "_fraction"))]


def check_fractions(df: pl.DataFrame, table: str, severity: Severity = "error") -> CheckOutcome:
    """Every `*_share` / `*_fraction` column within [0, 1] (null allowed, NaN not)."""
    cols = fraction_columns(df)
    if not cols:
        return CheckOutcome(True, severity, f"{table}: no share/fraction columns", {"columns": ""})
    outside = [_outside_unit(df, c) for c in cols]
    mask = pl.any_horizontal(outside)
    offenders = df.filter(mask)
    per_column = {
        f"outside_{c}": int(df.select(e.sum()).item()) for c, e in zip(cols, outside, strict=True)
    }
    key = [c for c in TABLE_KEYS.get(table, ()) if c in df.columns]
    return outcome_from_offenders(
        offenders=offenders,
        n_checked=df.height,
        severity=severity,
        ok=f"{table}: {len(cols)} share/fraction columns within [0, 1]",
        bad=f"{table}: shares/fractions outside [0, 1]",
        columns=key + cols,
        extra={"columns": ", ".join(cols), **per_column},
    )
