"""The bench's pipeline breakdown: every second of the run lands in exactly one part."""

from __future__ import annotations

import pytest

from bench.report import PIPELINE_PARTS, pipeline_breakdown, pipeline_sentence


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
    pipe = {"engine_wall_s": 10.0, "breakdown": pipeline_breakdown(15.0, 10.0, steps)}
    sentence = pipeline_sentence(pipe)
    assert sentence.startswith("reports 3.0 s (+30.0%)")
    assert "engine (load" not in sentence
    assert sentence.index("decode + VAD") < sentence.index("model step beyond")
