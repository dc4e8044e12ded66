"""What a user sees in the terminal: progress and results, not library chatter (issue 10, noise)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the whole demo in a subprocess: ~2 min

REPO = Path(__file__).resolve().parents[2]
NOISE = {
    "Dagster's BackfillPolicy beta warning": "BetaWarning",
    "Great Expectations' registration chatter": "because it is a closure",
    "alembic's storage migration lines": "alembic",
    "pydub's missing-ffmpeg warning (pydub is not used)": "Couldn't find ffmpeg or avconv",
}


def test_the_demo_shows_progress_and_the_tiny_model_warning_but_no_library_noise(
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
        [sys.executable, "-m", "emotion_assets.demo", "--date", "2024-06-03"],
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
