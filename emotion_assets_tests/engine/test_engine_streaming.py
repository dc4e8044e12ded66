"""Long tracks without whole-track copies: per-window normalisation, streamed features,
the lean checkpoint load and the thread count that other libraries must not change."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

from emotion_assets.engine.config import EngineConfig
from emotion_assets.engine.core import load_engine
from emotion_assets.engine.day import score_day
from emotion_assets.engine.embeddings import SegmentPooler, embedding_table
from emotion_assets.engine.loading import (
    FunasrVersionError,
    ModelUnavailableError,
    check_funasr_version,
    load_funasr_model,
)
from emotion_assets.engine.normalize import TrackNormalizer
from emotion_assets.foundation.layout import DataLayout

DAY = "2024-05-02"


def _long_speech(speech: dict[str, np.ndarray], seconds: float) -> np.ndarray:
    return np.resize(np.concatenate(list(speech.values())), int(seconds * 16_000)).astype(
        np.float32
    )


def test_windows_are_normalised_over_the_whole_track(speech):
    wave = _long_speech(speech, 95) * 0.3 + 0.01  # a level and offset unlike the defaults
    reference = F.layer_norm(torch.from_numpy(wave), wave.shape)
    norm = TrackNormalizer(wave, enabled=True)
    assert torch.equal(norm.whole(), reference)  # one window: funasr's exact call
    for start, length in [(0, 480_000), (700_000, 480_000), (len(wave) - 1000, 1000)]:
        got = norm.window(start, length)
        torch.testing.assert_close(got, reference[start : start + length], atol=2e-6, rtol=0)
    assert torch.equal(TrackNormalizer(wave, enabled=False).window(5, 10), torch.tensor(wave[5:15]))


def test_streamed_features_give_the_same_embeddings(tiny_engine, speech):
    wave = _long_speech(speech, 75)  # three 30 s windows with context
    full = tiny_engine.score(wave, with_features=True)
    segments = [(0.5, 20.0), (28.0, 33.0), (40.0, 74.9)]  # one straddles a window seam
    pooler = SegmentPooler(full.n_frames, tiny_engine.embed_dim, segments)
    streamed = tiny_engine.score(wave, on_features=pooler.add)
    assert streamed.features is None
    np.testing.assert_array_equal(streamed.logits, full.logits)
    common = {"recording_id": "r", "recording_date": dt.date(2024, 5, 2), "track": 0}
    want = embedding_table(full.features, segments=segments, model_id="m", **common)
    got = pooler.table(model_id="m", **common)
    assert got.drop("embedding").equals(want.drop("embedding"))
    np.testing.assert_allclose(
        np.stack(got["embedding"].to_numpy()), np.stack(want["embedding"].to_numpy()), atol=1e-5
    )


def test_score_partition_streams_embeddings_and_npy(tiny_engine, speech, tmp_path):
    layout = DataLayout(tmp_path)
    wave = _long_speech(speech, 65)
    sf.write(tmp_path / "long.wav", wave, 16_000, subtype="FLOAT")
    keys = {"recording_id": ["long"], "track": [0]}
    normalized = pl.DataFrame({**keys, "audio_path": ["long.wav"]})
    segments = pl.DataFrame(
        {**keys, "segment_idx": [0], "t_start": [1.0], "t_end": [60.0]},
        schema_overrides={"track": pl.Int32, "segment_idx": pl.Int32},
    )
    turns = pl.DataFrame(
        {**keys, "speaker": ["ana"], "t_start": [0.0], "t_end": [65.0]},
        schema_overrides={"track": pl.Int32},
    )
    frames, embeddings = score_day(
        tiny_engine, layout, DAY, normalized, segments, turns, save_frame_embeddings=True
    )
    # the partition plans windows from the track's speech segments: the same plan here
    full = tiny_engine.score(
        sf.read(tmp_path / "long.wav", dtype="float32")[0], speech=[(1.0, 60.0)]
    )
    npy = np.load(layout.embeddings_day(DAY) / "long_t0.npy")
    np.testing.assert_array_equal(npy, full.features)
    assert not [p for p in layout.embeddings_day(DAY).iterdir() if p.suffix != ".npy"]
    assert frames.height == full.n_frames
    lo, hi = np.searchsorted(np.arange(full.n_frames) * 0.02 + 0.0125, [1.0, 60.0])
    np.testing.assert_allclose(
        embeddings["embedding"][0].to_numpy(), full.features[lo:hi].mean(axis=0), atol=1e-5
    )
    assert embeddings["speaker"].to_list() == ["ana"]


def _mapped_files(tensor: torch.Tensor) -> set[str]:
    """The files whose memory mapping holds the tensor's data (Linux: /proc/self/maps)."""
    address = tensor.untyped_storage().data_ptr()
    found = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *rest = line.split(maxsplit=5)
        lo, hi = (int(x, 16) for x in span.split("-"))
        if lo <= address < hi and len(rest) == 5:
            found.add(rest[4])
    return found


def test_weights_are_mapped_from_model_pt_not_copied(tiny_dir, tmp_path):
    from funasr import AutoModel
    from funasr.auto import auto_model

    funasr_loader = auto_model.load_pretrained_model
    plain = AutoModel(model=str(tiny_dir), disable_update=True, device="cpu", log_level="ERROR")
    lean = load_funasr_model(tiny_dir, "cpu", 1)
    want, got = plain.model.state_dict(), lean.model.state_dict()
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)
    # The memory saving: the parameters live in the mapping of model.pt (no copy in memory).
    weight = next(p for p in lean.model.parameters() if p.numel() > 1000)
    assert str((tiny_dir / "model.pt").resolve()) in _mapped_files(weight)
    assert str((tiny_dir / "model.pt").resolve()) not in _mapped_files(
        next(p for p in plain.model.parameters() if p.numel() > 1000)
    )
    assert auto_model.load_pretrained_model is funasr_loader  # funasr's own loader is back

    # A checkpoint in the pre-1.6 (non-zip) format cannot be memory-mapped: it loads whole.
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("config.yaml", "tokens.txt", "configuration.json"):
        if (tiny_dir / name).exists():
            (legacy / name).write_bytes((tiny_dir / name).read_bytes())
    state = torch.load(tiny_dir / "model.pt", map_location="cpu")
    torch.save(state, legacy / "model.pt", _use_new_zipfile_serialization=False)
    old = load_funasr_model(legacy, "cpu", 1).model.state_dict()
    assert all(torch.equal(want[k], old[k]) for k in want)

    # A checkpoint that lacks a weight is refused (funasr would keep random weights silently).
    first = next(iter(state))
    torch.save({k: v for k, v in state.items() if k != first}, legacy / "model.pt")
    with pytest.raises(ModelUnavailableError, match="does not fit this model"):
        load_funasr_model(legacy, "cpu", 1)


def test_other_funasr_releases_are_refused_in_one_sentence():
    check_funasr_version()  # the installed (locked) release passes
    with pytest.raises(FunasrVersionError) as err:
        check_funasr_version("1.5.0")
    message = str(err.value)
    assert "funasr 1.5.0 is installed" in message and "make setup" in message
    assert message.count(". ") == 0 and "\n" not in message


def test_engine_states_its_thread_count(tiny_dir):
    engine = load_engine(EngineConfig(model=str(tiny_dir), threads=2))
    torch.set_num_threads(1)  # what silero-vad does to the whole process when imported
    seen = []
    engine.score(
        np.zeros(16_000, np.float32),
        on_features=lambda first, block: seen.append(torch.get_num_threads()),
    )
    assert seen == [2]
    assert torch.get_num_threads() == 1  # the caller's setting is given back


def test_vad_leaves_the_thread_count_alone(tmp_path):
    """silero-vad sets 1 thread on import; in one Dagster run the model would then crawl."""
    script = textwrap.dedent(
        """
        import numpy as np, torch
        torch.set_num_threads(2)
        from emotion_assets.audio.vad import speech_regions
        rng = np.random.default_rng(0)
        speech_regions(rng.normal(0, 0.1, 32_000).astype(np.float32))
        print(torch.get_num_threads())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip().splitlines()[-1] == "2"
