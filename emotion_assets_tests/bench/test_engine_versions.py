"""`python -m bench.engine_versions`: an old engine beside today's, taking turns in one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.engine_versions import extract_engine

REPO = Path(__file__).resolve().parents[2]


def _head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_old_engine_is_its_own_package(tmp_path: Path) -> None:
    """Every module of the extracted engine imports its siblings under the new name, so the
    comparison cannot silently measure today's engine twice."""
    name, sha = extract_engine("HEAD", tmp_path)
    assert sha == _head() and name == f"engine_at_{sha[:10]}"
    sources = {p.name: p.read_text() for p in (tmp_path / name).glob("*.py")}
    assert {"__init__.py", "core.py"} <= set(sources)
    assert not [f for f, text in sources.items() if "emotion_assets.engine" in text]
    assert f"from {name}." in sources["core.py"]


@pytest.mark.slow
def test_engine_versions_compares_head_with_itself(tmp_path: Path, shared_audio: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "EMOTION_SHARED_AUDIO": str(shared_audio)}
    cmd = [sys.executable, "-m", "bench.engine_versions", "--rev", "HEAD", "--model-size", "tiny"]
    args = ["--rounds", "1", "--threads", "1", "--out", str(out), "--workdir", str(tmp_path)]
    proc = subprocess.run([*cmd, *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob("*-engine-vs-*-tiny.json")
    report = json.loads(path.read_text())
    assert report["sha"] == _head()
    result = report["result"]
    assert result["max_abs_prob_diff"] <= 1e-6  # the same code scores the same clips alike
    assert set(result["seconds"]) == {"today", "HEAD"} and min(result["seconds"].values()) > 0
    assert len(result["per_clip_ratio"]) == result["clips"] > 0
    assert "today / then" in path.with_suffix(".md").read_text()
