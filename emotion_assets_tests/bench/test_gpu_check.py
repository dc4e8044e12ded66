"""bench/gpu_check.sh cannot rot: its CPU dry run (tiny model) runs the whole script here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # the GPU script's dry run builds a model and times funasr: 1-2 min

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu_check.sh"


def _run(out: Path, work: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "GPU_WHEELS": str(work / "no-wheels")}
    return subprocess.run(
        ["bash", str(SCRIPT), str(out), "--workdir", str(work), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out, work = tmp_path_factory.mktemp("gpu_out"), tmp_path_factory.mktemp("gpu_work")
    proc = _run(out, work, "--dry-run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "gpu_check.json").read_text())


def test_dry_run_sweeps_the_batch_sizes_and_times_funasr(dry_run):
    timed = [r for r in dry_run["engine"] if "x_real_time" in r]
    assert [r["batch_size"] for r in timed] == [1, 2]
    assert all(r["x_real_time"] > 0 for r in timed) and dry_run["funasr"]["x_real_time"] > 0
    assert dry_run["dry_run"] and dry_run["targets"]["vs_funasr"]["pass"] == "not judged (dry run)"


def test_dry_run_engine_agrees_with_funasr(dry_run):
    # fp32 on the CPU: the engine is funasr's computation (docs/engine.md: <= 1e-4)
    assert dry_run["max_score_deviation"] <= 1e-4


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a CPU-only torch")
def test_without_a_gpu_it_refuses_in_one_sentence(tmp_path: Path):
    proc = _run(tmp_path / "out", tmp_path)
    assert proc.returncode == 2
    assert "no CUDA device" in proc.stderr


def test_dry_run_sweeps_batches_across_tracks(dry_run):
    rows = [r for r in dry_run["cross_track"] if "x_real_time" in r]
    fixed = "across tracks, fixed windows"
    modes = {(r["batch_size"], r["mode"]) for r in rows}
    assert modes == {(b, m) for b in (1, 4) for m in ("per track", "across tracks", fixed)}
    by = {(r["batch_size"], r["mode"]): r for r in rows}
    assert all(r["forward_passes"] == r["windows"] for r in rows if r["batch_size"] == 1)
    assert by[4, "across tracks"]["forward_passes"] <= by[4, "per track"]["forward_passes"]
    # three 20 s tracks, one 20 s fixed window each: one forward pass for all three
    assert by[4, fixed]["windows"] == 3 and by[4, fixed]["forward_passes"] == 1
