"""`emotion-assets analyze`: the documented output folder, with the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from emotion_assets.cli import main
from emotion_assets.engine.model_builder import TINY_MODEL_ID
from emotion_assets.foundation.labels import EMOTIONS, n_frames


def test_analyze_frame_granularity(tiny_dir, shared_audio, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMOTION_THREADS", "1")
    src = shared_audio / "speech" / "librispeech_3436-172162-0000.ogg"
    rc = main(
        [
            "analyze",
            str(src),
            "--granularity",
            "frame",
            "--embedding",
            "--out",
            str(tmp_path / "out"),
            "--model",
            str(tiny_dir),
        ]
    )
    assert rc == 0
    (folder,) = (tmp_path / "out").glob("outputs_*")
    assert sorted(p.name for p in folder.iterdir()) == [
        "embedding.npy",
        "processed_audio.wav",
        "result.json",
    ]
    info = sf.info(folder / "processed_audio.wav")
    assert (info.samplerate, info.channels) == (16_000, 1)
    data = json.loads((folder / "result.json").read_text())
    assert set(data["scores"]) == set(EMOTIONS)
    assert data["emotion"] == max(data["scores"], key=data["scores"].get)
    assert data["confidence"] == max(data["scores"].values())
    assert data["granularity"] == "frame" and data["frame_rate_hz"] == 50
    assert TINY_MODEL_ID in data["model_id"]
    frames = data["frame_scores"]
    assert len(frames) == n_frames(info.frames)
    assert 0.0 <= data["frame_scores"][3]["angry"] <= 1.0
    assert frames[3]["t"] == 0.06
    assert abs(sum(frames[3][e] for e in EMOTIONS) - 1) < 1e-5
    assert np.load(folder / "embedding.npy").shape == (len(frames), 128)


def test_analyze_falls_back_to_tiny_model_loudly(shared_audio, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EMOTION_MODEL", raising=False)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "https://hub.invalid")
    monkeypatch.setenv("EMOTION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMOTION_THREADS", "1")
    src = shared_audio / "speech" / "two_speakers.wav"
    assert main(["analyze", str(src), "--out", str(tmp_path / "out")]) == 0
    assert "TINY RANDOM MODEL" in capsys.readouterr().err
    (folder,) = Path(tmp_path / "out").glob("outputs_*")
    data = json.loads((folder / "result.json").read_text())
    assert TINY_MODEL_ID in data["model_id"] and "frame_scores" not in data
    assert not (folder / "embedding.npy").exists()


def test_explicit_unavailable_model_is_an_error(shared_audio, tmp_path, capsys):
    src = shared_audio / "speech" / "two_speakers.wav"
    rc = main(["analyze", str(src), "--out", str(tmp_path), "--model", str(tmp_path / "none")])
    assert rc == 2 and "could not be loaded" in capsys.readouterr().err
