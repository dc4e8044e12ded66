"""The bench's pipeline breakdown: every second of the run lands in exactly one part."""

from __future__ import annotations

import polars as pl
import pytest

from bench.report import PIPELINE_PARTS, pipeline_breakdown, pipeline_sentence
from bench.run import _pipeline_tracks


def test_breakdown_sorts_steps_into_parts_that_add_up_to_the_wall() -> None:
    steps = {
        "ingest_recordings": 4.0,
        "normalized_audio_checks": 1.9,
        "emotion_model_outputs": 89.0,
        "frame_emotion_scores_checks": 0.6,
        "utterance_emotion_scores": 0.1,
        "segment_emotions": 0.3,
        "emotion_reports": 4.1,
    }
    parts = pipeline_breakdown(106.0, 87.9, steps, import_s=2.5)
    assert tuple(parts) == PIPELINE_PARTS
    assert sum(parts.values()) == pytest.approx(106.0, abs=1e-2)
    assert parts["model step beyond the engine"] == pytest.approx(1.1)
    assert parts["decode + VAD (ingest)"] == pytest.approx(4.0)
    assert parts["checks"] == pytest.approx(2.5)
    assert parts["analytics"] == pytest.approx(0.4)
    assert parts["reports"] == pytest.approx(4.1)
    assert parts["importing the code location (torch, dagster, sklearn, ...)"] == 2.5
    assert parts["Dagster (run start, event log)"] == pytest.approx(106.0 - 100.0 - 2.5)


def test_sentence_lists_the_non_engine_parts_largest_first() -> None:
    steps = {"emotion_model_outputs": 10.0, "emotion_reports": 3.0, "ingest_recordings": 1.0}
    pipe = {"engine_in_run_s": 10.0, "breakdown": pipeline_breakdown(15.0, 10.0, steps)}
    sentence = pipeline_sentence(pipe)
    assert sentence.startswith("reports 3.0 s (+30.0%)")
    assert "engine (load" not in sentence
    assert sentence.index("decode + VAD") < sentence.index("model step beyond")


def test_engine_baseline_gets_each_track_with_its_own_vad_segments(tmp_path) -> None:
    """The engine alone must plan the model step's windows: the same tracks, their segments."""
    day = "2024-01-01"
    lake = tmp_path / "lake"

    def write(table: str, df: pl.DataFrame) -> None:
        folder = lake / table / f"recording_date={day}"
        folder.mkdir(parents=True)
        df.write_parquet(folder / "data.parquet")

    write("normalized_audio", pl.DataFrame({"recording_id": ["b", "a", "a"], "track": [0, 1, 0]}))
    write(
        "speech_segments",
        pl.DataFrame(
            {
                "recording_id": ["a", "a", "b", "a"],
                "track": [0, 0, 0, 1],
                "t_start": [0.5, 3.0, 1.0, 2.0],
                "t_end": [2.5, 4.0, 9.0, 2.5],
            }
        ),
    )
    tracks = _pipeline_tracks(tmp_path, day)
    assert [t["path"].rsplit("/", 1)[-1] for t in tracks] == ["a_t0.wav", "a_t1.wav", "b_t0.wav"]
    assert [t["speech"] for t in tracks] == [[[0.5, 2.5], [3.0, 4.0]], [[2.0, 2.5]], [[1.0, 9.0]]]


def test_the_engine_alone_reports_the_cores_it_keeps_busy(tmp_path, shared_audio) -> None:
    """CPU seconds over wall seconds: one torch thread keeps about one core busy, not two."""
    from bench.worker import run_engine_files
    from emotion_assets.engine.model_builder import cached_model_dir

    spec = {
        "model_dir": str(cached_model_dir(tmp_path / "models", size="tiny", seed=0)),
        "device": "cpu",
        "threads": 1,
        "with_features": False,
        "files": [str(shared_audio / "speech" / "two_speakers.wav")] * 3,
    }
    import torch

    before = torch.get_num_threads()
    try:
        res = run_engine_files(spec)  # sets the process's torch threads, as in its own worker
    finally:
        torch.set_num_threads(before)
    assert res["status"] == "ok"
    assert 0.5 < res["score_cores"] < 1.5
    assert res["load_cores"] > 0
