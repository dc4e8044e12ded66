"""Issue 25, item 16: `make sql` (emotion-assets sql "$(Q)") answers a wrong
query with DuckDB's own hint in one line, and without a query opens a shell or lists the tables."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from emotion_assets.foundation.layout import DataLayout
from emotion_assets.warehouse import ensure_views, write_partitions

DAY = "2024-06-03"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    layout = DataLayout(tmp_path / "data")
    table = pl.DataFrame(
        {"recording_date": [dt.date.fromisoformat(DAY)], "recording_id": ["r1"], "speech_s": [2.5]}
    )
    write_partitions(layout.lake, "recording_summary", [DAY], table)
    ensure_views(layout.lake, layout.warehouse)
    return layout.root


def _sql(q: str, data_dir: Path, path: str) -> subprocess.CompletedProcess:
    """The Makefile's recipe: `make sql` without Q passes an empty string."""
    env = {**os.environ, "EMOTION_DATA_DIR": str(data_dir), "PATH": path}
    return subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "sql", q],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_wrong_table_is_one_line_with_duckdbs_hint(data_dir: Path, tmp_path: Path) -> None:
    done = _sql("SELECT * FROM recording_emotion_summary", data_dir, str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        "error: Catalog Error: Table with name recording_emotion_summary does not exist! "
        'Did you mean "recording_summary"?'
    )
    syntax = _sql("SELEC 1", data_dir, str(tmp_path))
    assert syntax.returncode == 2 and len(syntax.stderr.strip().splitlines()) == 1
    assert "syntax error" in syntax.stderr and "Traceback" not in syntax.stderr


def test_a_right_query_prints_its_rows(data_dir: Path, tmp_path: Path) -> None:
    done = _sql("SELECT recording_id, speech_s FROM recording_summary", data_dir, str(tmp_path))
    assert done.returncode == 0 and "r1" in done.stdout and "2.5" in done.stdout, done.stderr


def test_no_query_without_a_duckdb_cli_prints_usage_and_the_tables(
    data_dir: Path, tmp_path: Path
) -> None:
    done = _sql("", data_dir, str(tmp_path))  # PATH: an empty folder, so no `duckdb` on it
    assert done.returncode == 0, done.stderr
    usage, tables = done.stdout.strip().splitlines()
    assert usage.startswith('usage: make sql Q="SELECT')
    assert tables.endswith(": recording_summary")


def test_no_query_opens_the_duckdb_shell_read_only(data_dir: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shell = bin_dir / "duckdb"  # stands in for the DuckDB CLI: says how it was started
    shell.write_text('#!/bin/sh\necho "duckdb $*"\nexit 3\n')
    shell.chmod(0o755)
    done = _sql("", data_dir, f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert done.returncode == 3  # the shell's own exit status
    assert done.stdout.strip() == f"duckdb -readonly {DataLayout(data_dir).warehouse}"
