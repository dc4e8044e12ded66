"""Dagster definitions, one folder per domain. Thin: the work happens in the pure packages."""
