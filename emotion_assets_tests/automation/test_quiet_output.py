"""What a user sees in the terminal: progress and results, not library chatter (issue 10, noise)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from emotion_assets.cli.demo import default_day
from emotion_assets.settings import StorageSettings, load_group

pytestmark = pytest.mark.slow  # the whole demo in a subprocess: ~2 min

REPO = Path(__file__).resolve().parents[2]
NOISE = {
    "Dagster's BackfillPolicy beta warning": "BetaWarning",
    "Great Expectations' registration chatter": "because it is a closure",
    "alembic's storage migration lines": "alembic",
    "pydub's missing-ffmpeg warning (pydub is not used)": "Couldn't find ffmpeg or avconv",
}


def test_the_demo_shows_progress_its_day_and_transcripts_but_no_library_noise(
    tmp_path: Path,
) -> None:
    home = tmp_path / "dagster_home"  # fresh: Dagster creates its SQLite storage (alembic)
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k != "EMOTION_MODEL"}  # as a new user
    env.update(
        EMOTION_DATA_DIR=str(tmp_path / "data"),
        DAGSTER_HOME=str(home),
        EMOTION_THREADS="1",
        GX_ANALYTICS_ENABLED="false",
        # The real model must be unavailable: an unreachable hub (127.0.0.1, refused at once).
        MODELSCOPE_ENDPOINT="http://127.0.0.1:9",
        HF_ENDPOINT="http://127.0.0.1:9",
    )
    result = subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "demo"],  # `make demo`: no --date
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for what, marker in NOISE.items():
        lines = [line for line in output.splitlines() if marker in line]
        assert not lines, f"{what}: {len(lines)} lines, e.g. {lines[0]!r}"
    assert "TINY RANDOM MODEL" in result.stderr  # the warning that matters stays loud
    assert "succeeded" in result.stdout

    # The demo's day is the latest partition, which the UI's Materialize dialog shows at once
    # (its last 90 days) and its "Latest" button selects; the summary says how to find it.
    day = default_day(load_group(StorageSettings))
    assert f"(the demo day: {day})" in result.stdout
    assert (
        f"Partitions → {day}" in result.stdout
        and "Materialize all → Latest (today)" in result.stdout
    )
    assert (tmp_path / "data" / "raw" / day / "librispeech_198-209-0000.ogg").is_file()

    # The bundled transcript of the LibriSpeech clip fills every transcript table and the report.
    rows = dict(re.findall(r"^   (\w+)\s+(\d+) rows$", result.stdout, flags=re.MULTILINE))
    assert int(rows["transcript_segments"]) == 3 and int(rows["transcript_words"]) == 46, rows
    assert int(rows["segment_emotions"]) >= 3 + 46, rows  # a row per sentence and per word
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        problems = con.sql("SELECT reason FROM quarantine WHERE stage = 'transcript'").fetchall()
        said = con.sql(
            "SELECT string_agg(text, ' ' ORDER BY t_start) FROM transcript_segments"
        ).fetchone()[0]
    finally:
        con.close()
    assert problems == []
    assert said.startswith("“Mrs. Allen,” said Catherine the next morning")
    pages = sorted((tmp_path / "data" / "reports" / day).glob("*_report.html"))
    assert any("calling on Miss Tilney" in page.read_text(encoding="utf-8") for page in pages)
