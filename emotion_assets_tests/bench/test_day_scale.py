"""bench/day_scale.py's report: its structure and arithmetic on made-up step figures (no timings)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
import soundfile as sf

from bench.day_scale import (
    CPU_STAGES,
    NIGHT_HOURS,
    PLAN_DAYS_H,
    STAGES,
    capacity_plan,
    make_day,
    markdown,
    memory_rows,
    stage_of,
    summarize,
)


def _step(seconds: float, peak_mb: float, start_rss_mb: float = 200.0) -> dict:
    return {"seconds": seconds, "peak_mb": peak_mb, "start_rss_mb": start_rss_mb, "cpu_s": seconds}


def _steps(scale: float, units: int) -> dict[str, dict]:
    """A day whose work scales with `scale`; emotion_reports' memory grows with it, units' not."""
    steps = {
        "ingest_recordings.scan_recordings": _step(0.5, 300),
        "ingest_recordings.publish_ingest": _step(0.5, 300),
        "emotion_model_outputs.plan_model_units": _step(0.5, 300),
        "emotion_model_outputs.publish_model_scores": _step(0.5, 310),
        "recording_summary": _step(2.0 * scale, 400),
        "normalized_audio_checks": _step(1.0 * scale, 350),
        "emotion_reports": _step(3.0 * scale, 300 + 100 * scale),
    }
    for i in range(units):
        steps[f"ingest_recordings.ingest_unit[u{i:03d}]"] = _step(4.0 * scale / units, 500)
        steps[f"emotion_model_outputs.score_model_unit[u{i:03d}]"] = _step(
            10.0 * scale / units, 900 + i
        )
    return steps


def _result() -> dict:
    return {
        "date": "2026-12-07",
        "machine": {
            "cpu_model": "cpu",
            "logical_cores": 2,
            "ram_gb": 23.5,
            "load_average_at_start": [1.0, 1.0, 1.0],
        },
        "load_average_at_end": [2.0, 2.0, 2.0],
        "model": "tiny random model",
        "unit_hours": 0.01,
        "bench_wall_s": 60.0,
        "days": {
            "small": {"recordings": 2, "audio_h": 0.1},
            "big": {"recordings": 8, "audio_h": 0.4},
        },
        "memory": {
            "small": {"wall_s": 30.0, "steps": _steps(1, 2)},
            "big": {"wall_s": 90.0, "steps": _steps(4, 8)},
        },
        "celery": {
            "1": {"wall_s": 50.0, "steps": {"a": {}}, "workers_used": {"cpu": ["cpu1"]}},
            "2": {"wall_s": 40.0, "steps": {"a": {}}, "workers_used": {"cpu": ["cpu1", "cpu2"]}},
        },
    }


def test_every_step_of_the_pipeline_lands_in_its_stage() -> None:
    assert stage_of("ingest_recordings.ingest_unit[20240501_u003]") == "decode + VAD (ingest)"
    assert stage_of("emotion_model_outputs.score_model_unit[20240501_u000]") == "model (work units)"
    assert stage_of("emotion_model_outputs.publish_model_scores") == "model plan + publish"
    assert stage_of("frame_emotion_scores_checks") == "checks"
    assert stage_of("emotion_reports") == "reports"
    assert stage_of("emotion_reports.render_report_unit[20240501_u001]") == "reports"
    assert stage_of("ingest_recordings.publish_ingest") == "decode + VAD (ingest)"
    assert stage_of("team_health") == "analytics"


def test_memory_rows_take_each_groups_largest_peak_and_flag_growth_beyond_15_percent() -> None:
    rows = {r["step"]: r for r in memory_rows(_steps(1, 2), _steps(4, 8), 0.1, 0.4)}
    units = rows["emotion_model_outputs.score_model_unit[*]"]
    assert (units["small_mb"], units["big_mb"]) == (901, 907)  # the largest of 2 and of 8 units
    assert units["big_own_mb"] == 707 and not units["grows"]
    reports = rows["emotion_reports"]
    assert reports["ratio"] == pytest.approx(700 / 400, abs=1e-3) and reports["grows"]
    assert reports["own_mb_per_audio_h"] == pytest.approx((500 - 200) / 0.3)  # own: peak - 200
    assert units["own_mb_per_audio_h"] == pytest.approx((707 - 701) / 0.3, abs=0.1)
    assert "ingest_recordings.ingest_unit[*]" in rows and len(rows) == 9


def test_summary_throughput_speedup_and_capacity_add_up() -> None:
    summary = summarize(_result())
    assert summary["speedup_2_vs_1"] == pytest.approx(1.25)
    assert summary["growing_steps"] == ["emotion_reports"]
    big = summary["throughput"]["big"]
    # 0.4 audio h over 8 units of 5 step-seconds each
    assert big["model (work units)"]["audio_h_per_core_h"] == pytest.approx(0.4 * 3600 / 40)
    assert big["decode + VAD (ingest)"]["step_s"] == pytest.approx(16 + 1.0)
    per_audio_h = sum(1 / big[s]["audio_h_per_core_h"] for s in CPU_STAGES)
    assert summary["cpu_core_h_per_audio_h"] == pytest.approx(per_audio_h, rel=1e-3)
    plan = summary["capacity_gpu_target"]
    assert [row["audio_h"] for row in plan] == list(PLAN_DAYS_H)
    for row in plan:
        assert row["cpu_workers"] == math.ceil(row["audio_h"] * per_audio_h / NIGHT_HOURS)
        assert row["cpu_workers"] * NIGHT_HOURS >= row["cpu_core_h"]
    # the large model on CPU cores: 2.205 audio hours per core-hour (4.41x on 2 cores)
    on_cpu = summary["capacity_large_model_on_cpu"]
    assert [r["gpu_workers"] for r in on_cpu] == [57, 567]


def test_the_costliest_step_still_one_per_day_bounds_the_night() -> None:
    longest = summarize(_result())["longest_day_step"]
    # emotion_reports: 12 CPU s for 0.4 audio h (units are excluded, however costly)
    assert longest["step"] == "emotion_reports"
    assert longest["hours"]["10000"] == pytest.approx(10_000 * 12 / 3600 / 0.4, abs=0.1)


def test_capacity_rounds_workers_up() -> None:
    rows = capacity_plan(cpu_h_per_audio_h=0.01, gpu_x_realtime=100.0)
    assert rows[0]["cpu_core_h"] == 10.0 and rows[0]["cpu_workers"] == 2  # 10 / 8 h
    assert rows[1]["gpu_h"] == 100.0 and rows[1]["gpu_workers"] == 13  # 100 / 8 h


def test_markdown_has_every_section_and_stage() -> None:
    text = markdown({**_result(), "summary": summarize(_result())})
    for heading in ("## 1.", "## 2.", "## 3.", "## Capacity"):
        assert heading in text
    for stage in STAGES:
        assert f"| {stage} |" in text
    assert "1.25x" in text and "`emotion_reports`" in text and "UNMEASURED" in text


def test_the_days_recordings_are_distinct_files_of_the_asked_length(tmp_path: Path) -> None:
    audio_s = make_day(tmp_path, recordings=3, seconds=2.0)
    files = sorted(tmp_path.glob("*.wav"))
    assert audio_s == pytest.approx(6.0) and len(files) == 3
    assert all(sf.info(f).duration == pytest.approx(2.0) for f in files)
    assert len({hashlib.sha256(f.read_bytes()).hexdigest() for f in files}) == 3
