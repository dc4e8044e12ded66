"""`python -m bench.onnx_trial` on the tiny model: exports once, runs every runner, reports Δp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_onnx_trial_runs_and_reports_deviation(tmp_path: Path, shared_audio: Path) -> None:
    out = tmp_path / "onnx"
    models = tmp_path / "models"
    env = {**os.environ, "EMOTION_SHARED_AUDIO": str(shared_audio)}
    args = ["--size", "tiny", "--rounds", "1", "--clips", "1", "--threads", "1"]
    cmd = [sys.executable, "-m", "bench.onnx_trial", *args, "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--model-root", str(models)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (res,) = json.loads(out.with_suffix(".json").read_text())
    onnx = Path(res["onnx"]["path"])
    assert res["onnx"]["exported_now"] and onnx.is_file()
    assert onnx.parent == Path(res["model_dir"])  # cached beside the model folder
    assert onnx.with_name("encoder-int8.onnx").is_file()
    runners = res["runners"]
    assert set(runners) == {"torch fp32 (engine)", "ORT fp32", "torch int8 (engine)", "ORT int8"}
    assert all(r["best_pass_s"] > 0 for r in runners.values())
    # the exported graph computes the engine's scores
    assert runners["ORT fp32"]["max_abs_dp_vs_torch_fp32"] <= 1e-4
    assert "ORT fp32" in out.with_suffix(".md").read_text()
