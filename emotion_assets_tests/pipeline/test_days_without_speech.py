"""Days where nothing is said: every asset and check of the day runs (issue 25, item 2).

Each case is a day of one generated file, materialized whole with the tiny model. A day in which
no recording has speech used to fail recording_summary (its entropy is NULL), so nothing
downstream ran. Checks may fail or warn, but each says why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from dagster import DagsterInstance

from emotion_assets.defs.in_process import run_day
from emotion_assets.foundation.labels import EMOTIONS, RECEPTIVE_FIELD, SAMPLE_RATE
from emotion_assets_tests.pipeline.warehouse import warehouse_table

pytestmark = pytest.mark.slow  # five whole days through the pipeline: ~1 min

DAY = "2024-07-01"


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def _tone(seconds: float) -> np.ndarray:
    """A steady whistle: loud, but no voice-activity detector calls it speech."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


# name: (samples, speech-only mode, frames the day should have)
CASES = {
    "digital silence": (_silence(5.0), False, 249),
    "digital silence, speech-only mode": (_silence(5.0), True, 249),
    "no frames (too short for one)": (_silence(0.5 * RECEPTIVE_FIELD / SAMPLE_RATE), False, 0),
    "one frame": (_silence(1.5 * RECEPTIVE_FIELD / SAMPLE_RATE), False, 1),
    "all frames NULL (a tone, speech-only mode)": (_tone(5.0), True, 249),
}


@pytest.fixture(params=list(CASES), scope="module")
def quiet_day(request, tmp_path_factory, tiny_model_dir: Path):
    samples, speech_only, frames = CASES[request.param]
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("quiet") / "data"
    raw = root / "raw" / DAY
    raw.mkdir(parents=True)
    sf.write(raw / "quiet.wav", samples, SAMPLE_RATE, subtype="PCM_16")
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    mp.setenv("EMOTION_SCORE_SPEECH_ONLY", str(speech_only).lower())
    summary = run_day(root, DAY, instance=DagsterInstance.ephemeral(), raise_on_error=False)
    yield root, summary, frames
    mp.undo()


def test_every_asset_and_check_of_the_day_runs(quiet_day) -> None:
    _, summary, _ = quiet_day
    result = summary["result"]
    failures = [
        f"{e.step_key}: {e.event_specific_data.error.message.splitlines()[0]}"
        for e in result.all_events
        if e.is_step_failure
    ]
    assert failures == [] and summary["success"]
    layer = result.job_def.asset_layer
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert set(layer.executable_asset_keys) - materialized == set()
    checks = {key.name for key in layer.asset_graph.asset_check_keys}
    assert sorted(name for name, _ in summary["checks"]) == sorted(checks)


def test_a_check_that_does_not_pass_says_why(quiet_day) -> None:
    _, summary, _ = quiet_day
    for event in summary["result"].all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            assert evaluation.passed or evaluation.description, evaluation.check_name


def test_the_tables_say_there_was_no_speech(quiet_day) -> None:
    root, _, frames = quiet_day
    scores = warehouse_table(root, "frame_emotion_scores")
    assert scores.height == frames and not scores["is_speech"].any()
    summary = warehouse_table(root, "recording_summary")
    assert summary.height == (1 if frames else 0)
    # No speech: no mean, no dominant emotion and no entropy (NULL, not 0 or NaN).
    assert (
        summary.select("emotion_entropy", "dominant_emotion", "mean_neutral").null_count().row(0)
        == (summary.height,) * 3
    )
    reports = warehouse_table(root, "emotion_reports")
    assert reports.height == summary.height
    for page in reports["report_html"]:
        assert (root / page).is_file()
    assert (root / "reports" / DAY / "index.html").is_file()
    assert warehouse_table(root, "emotion_highlights").is_empty()
    assert set(EMOTIONS) <= set(scores.columns)
