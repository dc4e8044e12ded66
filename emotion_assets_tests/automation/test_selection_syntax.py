"""Dagster's selection strings (CLI --select, AssetSelection.from_string) in this environment.

funasr's dependencies used to pin an antlr runtime too old for Dagster's selection parser
(`TypeError: ord() expected string of length 1`); the lock overrides the pin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, AssetSelection

from emotion_assets_tests.conftest import code_location, copy_into_day

pytestmark = pytest.mark.slow  # dagster CLI subprocesses: ~1-2 min

REPO = Path(__file__).resolve().parents[2]
DAY = "2024-06-05"


def _keys(selection: str) -> set[str]:
    graph = code_location().resolve_asset_graph()
    return {k.to_user_string() for k in AssetSelection.from_string(selection).resolve(graph)}


def test_selection_strings_resolve_against_the_code_location() -> None:
    ingest = _keys("group:ingest")
    assert {"raw_recordings", "normalized_audio", "quarantine"} <= ingest
    assert "frame_emotion_scores" not in ingest
    downstream = _keys('key:"frame_emotion_scores"+')
    assert "utterance_emotion_scores" in downstream and "raw_recordings" not in downstream
    assert _keys("key:raw_recordings or key:normalized_audio") == {
        "raw_recordings",
        "normalized_audio",
    }
    graph = code_location().resolve_asset_graph()
    assert AssetKey("emotion_bursts") in AssetSelection.from_string("*").resolve(graph)
    # Every asset sits in its domain's group (graph-backed ones too), none in "default".
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"ingest", "emotion", "analytics"}


def test_cli_asset_materialize_with_a_selection_string(
    data_dir: Path, shared_audio: Path, tmp_path: Path
) -> None:
    """The command from the issue: `dagster asset materialize --select … --partition …`."""
    copy_into_day(data_dir, DAY, shared_audio / "speech" / "librispeech_198-209-0000.ogg")
    env = dict(os.environ, EMOTION_DATA_DIR=str(data_dir), DAGSTER_HOME=str(tmp_path))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "asset",
            "materialize",
            "-m",
            "emotion_assets.definitions",
            "--select",
            "group:ingest",
            "--partition",
            DAY,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lake = data_dir / "lake"
    assert (lake / "raw_recordings" / f"recording_date={DAY}" / "data.parquet").is_file()
    assert not (lake / "frame_emotion_scores").exists()  # the model group was not selected
    rows = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{lake}/normalized_audio/*/*.parquet')"
    ).fetchone()
    assert rows == (1,)


def test_funasr_loads_the_model_without_hydra(tiny_model_dir: Path) -> None:
    """hydra-core is left out of the lock (its grammar needs the old antlr): funasr must not
    need it to load emotion2vec."""
    script = (
        "import sys; from emotion_assets.engine.loading import load_funasr_model; "
        f"load_funasr_model(__import__('pathlib').Path({str(tiny_model_dir)!r}), 'cpu', 1); "
        "print('hydra' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
