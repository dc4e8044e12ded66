"""Smoke test of `make bench`: the --quick run (tiny model) writes a complete, sane report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_assets.foundation.torch_threads import available_cores

REPO = Path(__file__).resolve().parents[2]
TOP_KEYS = {
    "date",
    "quick",
    "machine",
    "model",
    "inputs",
    "cases",
    "deviation",
    "profile",
    "pipeline",
    "paired",
    "table",
    "targets",
    "duration_s",
}
# fp32 speed, fp32 scores, 60-min RSS, 60-min speed, int8 speed, pipeline, call day x 3
TARGETS = 9


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory, shared_audio: Path) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench_out")
    work = tmp_path_factory.mktemp("bench_work")
    env = {**os.environ, "EMOTION_SHARED_AUDIO": str(shared_audio)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--cases",
            "clips,0.5min,callday",
            "--callday-minutes",
            "1",
            "--callday-stitched",
            "--repeats",
            "2",
            "--out",
            str(out),
            "--workdir",
            str(work),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # two test workers share the cores: minutes, not seconds, when both are busy
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (json_path,) = out.glob("*-quick.json")
    (md_path,) = out.glob("*-quick.md")
    return json.loads(json_path.read_text()), md_path.read_text()


@pytest.mark.slow
def test_quick_report_has_every_section(quick_run: tuple[dict, str]) -> None:
    results, md = quick_run
    assert results.keys() >= TOP_KEYS
    assert results["quick"] is True and results["model"]["size"] == "tiny"
    assert results["machine"]["threads"] == available_cores() and results["machine"]["torch"]
    assert len(results["targets"]) == TARGETS
    assert {t["status"] for t in results["targets"]} <= {"pass", "miss", "not measured"}
    assert "| case | audio s | wall s | x real time | peak RSS GB | vs funasr |" in md


@pytest.mark.slow
def test_quick_cases_measure_engine_and_funasr_on_the_same_clips(
    quick_run: tuple[dict, str],
) -> None:
    results, _ = quick_run
    engine, funasr = results["cases"]["clips"]["engine"], results["cases"]["clips"]["funasr"]
    for res in (engine, funasr):
        assert res["status"] == "ok"
        assert res["x_real_time"] == pytest.approx(res["audio_s"] / res["wall_s"])
        assert res["peak_rss_mb"] >= res["rss_after_load_mb"] > 0
    assert [i["name"] for i in engine["items"]] == [i["name"] for i in funasr["items"]]
    # The engine claims funasr's scores on whole clips; the quick run must confirm it.
    assert results["deviation"]["engine_vs_funasr"]["max_abs_score_diff"] <= 1e-4


@pytest.mark.slow
def test_quick_long_case_is_looped_speech_and_funasr_guard_is_recorded(
    quick_run: tuple[dict, str],
) -> None:
    results, _ = quick_run
    long = results["cases"]["0.5min"]
    assert long["engine"]["audio_s"] == pytest.approx(30.0, abs=0.01)
    assert long["funasr"]["status"] == "skipped"
    assert "(T+E)^2" in long["funasr"]["formula"] and long["funasr"]["estimate_gb"] > 0


@pytest.mark.slow
def test_quick_ratio_comes_from_runners_taking_turns(quick_run: tuple[dict, str]) -> None:
    results, md = quick_run
    paired = results["paired"]
    assert paired["status"] == "ok" and paired["repeats"] == 2
    clips = set(results["inputs"]["clips"])
    for name in ("engine", "funasr"):
        walls = paired["runners"][name]["walls_s"]
        assert set(walls) == clips and all(len(w) == 2 for w in walls.values())
        best = sum(min(w) for w in walls.values())
        assert paired["runners"][name]["wall_s"] == pytest.approx(best, abs=1e-3 * len(walls))
    fp32 = next(t for t in results["targets"] if t["name"].startswith("fp32 throughput"))
    ratio = paired["runners"]["engine"]["x_real_time"] / paired["runners"]["funasr"]["x_real_time"]
    assert fp32["value"] == pytest.approx(ratio)
    assert "taking turns" in md


@pytest.mark.slow
def test_quick_call_day_takes_turns_with_the_clips(quick_run: tuple[dict, str]) -> None:
    results, md = quick_run
    day = results["callday"]
    assert day["status"] == "ok" and day["audio_s"] == pytest.approx(60.0, abs=0.01)
    made = day["made_of_s"]
    assert made["speech_s"] > 0 and made["silence_s"] > 0 and made["nonspeech_s"] > 0
    assert 0 < day["speech_s"] < day["audio_s"]
    clips = day["clips"]["x_real_time"]
    for mode in ("all_frames", "speech_only", "stitched"):
        assert day[mode]["vs_clips"] == pytest.approx(day[mode]["x_real_time"] / clips)
    # pause-aligned windows overlap only inside long pause-free speech: fewer frames computed
    # than fixed stitching, and speech-only fewer still
    assert day["all_frames"]["frames"] <= day["all_frames"]["computed_frames"]
    assert day["stitched"]["computed_frames"] > day["all_frames"]["computed_frames"]
    assert day["speech_only"]["computed_frames"] < day["all_frames"]["computed_frames"]
    assert 0.5 <= day["deviation_pause_vs_stitched"]["top_emotion_agreement"] <= 1.0
    assert "## Call day" in md
