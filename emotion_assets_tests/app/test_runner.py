"""The page's pure core: the outputs equal `emotion-assets analyze`'s, bad input leaves nothing."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion_assets import cli
from emotion_assets.app import runner as runner_module
from emotion_assets.app.runner import InputRejected, Limits, Request, Runner
from emotion_assets.app.server import PAGE_ROWS, frame_page
from emotion_assets.foundation.labels import EMOTIONS


def _close(a, b, path: str = "") -> None:
    """Equal JSON documents, numbers within 1e-6."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-6), path
    else:
        assert a == b, path


def test_outputs_are_what_analyze_writes(runner: Runner, speech_file: Path, tmp_path: Path):
    lines, steps = [], []
    outcome = runner.run(
        Request(speech_file, speech_file.name, granularity="frame", embedding=True),
        on_log=lines.append,
        on_progress=lambda fraction, what: steps.append(fraction),
    )
    assert (
        cli.main(
            [
                "analyze",
                str(speech_file),
                "--granularity",
                "frame",
                "--embedding",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    (cli_out,) = tmp_path.glob("outputs_*")

    page = json.loads(outcome.files["result.json"].read_text())
    ours = json.loads((cli_out / "result.json").read_text())
    page.pop("timestamp"), ours.pop("timestamp")
    _close(page, ours)
    assert len(page["frame_scores"]) == outcome.frames.height > 600
    np.testing.assert_allclose(
        np.load(outcome.files["embedding.npy"]), np.load(cli_out / "embedding.npy"), atol=1e-6
    )
    ours_wave, _ = sf.read(cli_out / "processed_audio.wav")
    page_wave, rate = sf.read(outcome.files["processed_audio.wav"])
    assert rate == 16000 and np.array_equal(ours_wave, page_wave)

    # The seed's log lines, and progress that only moves forward to the end.
    assert lines[0].startswith("validating audio: duration=13.9s, sample_rate=22050Hz")
    assert any(line.startswith("converted to 16 kHz") for line in lines)
    assert f"output written to {outcome.out_dir.name}/" in lines  # no server path
    assert steps == sorted(steps) and steps[-1] == 1.0 and len(steps) > 3

    # The page's extras stay inside the outputs folder; the zip holds the outputs, not the upload.
    assert outcome.input_copy.read_bytes() == speech_file.read_bytes()
    assert outcome.input_copy.is_relative_to(outcome.out_dir)
    names = zipfile.ZipFile(outcome.zip_path).namelist()
    prefix = outcome.out_dir.name
    for name in ("processed_audio.wav", "result.json", "embedding.npy", "heatmap.png"):
        assert f"{prefix}/{name}" in names
    assert not any("/input/" in n for n in names)
    assert {t.name for t in outcome.figure.data} >= set(EMOTIONS)
    assert outcome.moments and all(m.clip.is_file() for m in outcome.moments)
    clip = sf.info(outcome.moments[0].clip)
    assert clip.samplerate == 16000 and 2.9 < clip.duration < 3.1  # a 3 s highlight


def test_utterance_granularity_without_embedding(runner: Runner, speech_file: Path):
    outcome = runner.run(Request(speech_file, "call.ogg", granularity="utterance"))
    result = json.loads(outcome.files["result.json"].read_text())
    assert "frame_scores" not in result and set(result["scores"]) == set(EMOTIONS)
    assert "embedding.npy" not in outcome.files
    assert not (outcome.out_dir / "embedding.npy").exists()
    # The page still shows every frame (the curves need them).
    assert outcome.frames.height > 600


def _bad_files(tmp_path: Path, shared_audio: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(os.urandom(40_000))
    return {
        "zero bytes": (empty, "empty (0 bytes)"),
        "random bytes": (noise, "not an audio file"),
        "no speech": (shared_audio / "nonspeech/robin_whistle.ogg", "No speech was found"),
    }


@pytest.mark.parametrize("case", ["zero bytes", "random bytes", "no speech"])
def test_bad_input_is_refused_and_leaves_nothing(
    case: str, runner: Runner, tmp_path: Path, shared_audio: Path
):
    path, words = _bad_files(tmp_path, shared_audio)[case]
    with pytest.raises(InputRejected, match=re.escape(words)):
        runner.run(Request(path, path.name))
    assert not runner.outputs_root.exists() or not any(runner.outputs_root.iterdir())


def test_size_and_duration_limits(tiny_engine, pipeline_env: Path, speech_file: Path):
    size = speech_file.stat().st_size
    small = Runner(
        tiny_engine,
        outputs_root=pipeline_env / "outputs",
        limits=Limits(max_upload_bytes=size - 1, max_duration_s=600),
    )
    with pytest.raises(
        InputRejected, match=r"over the limit of [0-9.]+ MB \(EMOTION_APP_MAX_UPLOAD_MB\)"
    ):
        small.run(Request(speech_file, speech_file.name))
    short = Runner(
        tiny_engine,
        outputs_root=pipeline_env / "outputs",
        limits=Limits(max_upload_bytes=size, max_duration_s=10),
    )
    with pytest.raises(InputRejected, match="longer than the page's limit of 10 s"):
        short.run(Request(speech_file, speech_file.name))
    assert not (pipeline_env / "outputs").exists()


def test_a_failure_after_writing_removes_the_outputs_folder(
    runner: Runner, speech_file: Path, monkeypatch: pytest.MonkeyPatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner_module, "smooth_frames", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        runner.run(Request(speech_file, speech_file.name))
    assert list(runner.outputs_root.iterdir()) == []


def test_transcript_lane_on_the_page(runner: Runner, speech_file: Path, tmp_path: Path):
    vtt = tmp_path / "talk.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00.500 --> 00:04.000\n<v Anna>chapter one of the book\n\n"
        "00:20.000 --> 00:21.000\nafter the end\n",
        encoding="utf-8",
    )
    outcome = runner.run(Request(speech_file, speech_file.name, transcript=vtt))
    lane = outcome.transcript
    assert lane["text"].to_list() == ["chapter one of the book", "after the end"]
    assert lane["speaker"].to_list() == ["Anna", None]
    first, beyond = lane.row(0, named=True), lane.row(1, named=True)
    assert first["emotion"] in EMOTIONS and 0 < first["speech_frames"] <= 175
    assert beyond["emotion"] is None and beyond["speech_frames"] == 0  # past the 13.9 s


def test_frame_table_pages():
    import polars as pl

    frames = pl.DataFrame(
        {
            "frame_idx": range(250),
            "t_start": [i * 0.02 for i in range(250)],
            "is_speech": [True] * 250,
            "top_emotion": ["happy"] * 250,
            **{e: [0.1] * 250 for e in EMOTIONS},
        }
    )
    rows, caption, page = frame_page(frames, 3)
    assert page == 3 and len(rows) == 250 - 2 * PAGE_ROWS
    assert caption.startswith("page 3 of 3") and rows["frame_idx"].iloc[0] == 2 * PAGE_ROWS
    assert frame_page(frames, 99)[2] == 3 and frame_page(frames, -5)[2] == 1
    assert frame_page(None, 1) == (None, "", 1)


def test_progress_follows_the_model_window_by_window(
    tiny_model_dir: Path, pipeline_env: Path, speech_file: Path
):
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.core import load_engine

    # 4 s windows: the 13.9 s recording runs as several, as an hour-long one would with 30 s.
    engine = load_engine(EngineConfig(model=str(tiny_model_dir), window_s=4.0, context_s=1.0))
    runner = Runner(
        engine,
        outputs_root=pipeline_env / "outputs",
        limits=Limits(max_upload_bytes=10**8, max_duration_s=600),
    )
    steps: list[tuple[float, str]] = []
    runner.run(
        Request(speech_file, speech_file.name),
        on_progress=lambda fraction, what: steps.append((fraction, what)),
    )
    scoring = [f for f, what in steps if what == "scoring frames"]
    assert len(scoring) >= 4 and scoring == sorted(scoring)
    assert scoring[0] < 0.5 < scoring[-1]
