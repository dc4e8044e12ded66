from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from emotion_assets.analytics.highlights import HIGHLIGHTS_SCHEMA, find_highlights
from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import AnalyticsSettings
from emotion_assets_tests.analytics.frames import DAY, RID, build_frames, steps

REPO = Path(__file__).resolve().parents[2]
SHARED_AUDIO = Path(os.environ.get("EMOTION_SHARED_AUDIO") or REPO.parent / "shared" / "audio")
SPEECH = SHARED_AUDIO / "speech" / "librispeech_198-209-0000.ogg"
N = 690  # 13.8 s of frames; the recording lasts 13.9 s


def curves() -> pl.DataFrame:
    """Angry 0.8 on frames 200–349 (4–7 s), happy 0.6 on frames 500–599 (10–12 s)."""
    angry = steps((200, 0.0), (150, 0.8), (340, 0.0))
    happy = steps((500, 0.0), (100, 0.6), (90, 0.0))
    return smooth_frames(build_frames(N, {"angry": angry, "happy": happy}), window=1)


@pytest.fixture
def layout_with_audio(tmp_path: Path) -> tuple[DataLayout, pl.DataFrame, np.ndarray]:
    """A data dir holding the LibriSpeech clip as normalized 16 kHz mono audio."""
    audio, rate = sf.read(str(SPEECH), dtype="float64")
    assert rate == 22050
    audio16 = resample_poly(audio, 320, 441) * 0.9
    layout = DataLayout(tmp_path / "data")
    rel = f"processed/{DAY}/{RID}_t0.wav"
    (layout.root / rel).parent.mkdir(parents=True)
    sf.write(str(layout.root / rel), audio16, 16000, subtype="PCM_16")
    stored, _ = sf.read(str(layout.root / rel), dtype="float64")
    normalized = pl.DataFrame(
        {"recording_id": [RID], "track": pl.Series([0], dtype=pl.Int32), "audio_path": [rel]}
    )
    return layout, normalized, stored


def test_intensity_picks_the_emotional_plateaus_without_overlap(tmp_path):
    out = find_highlights(curves(), None, DataLayout(tmp_path), write_clips=False)
    top = out.filter(pl.col("rank_by") == "intensity")
    assert top["rank"].to_list() == [1, 2]  # the rest of the track is calm: no third highlight
    first, second = top.iter_rows(named=True)
    assert (first["t_start"], first["t_end"]) == pytest.approx((4.0, 7.0))
    assert first["score"] == pytest.approx(0.8) and first["dominant_emotion"] == "angry"
    assert second["score"] == pytest.approx(0.4) and second["dominant_emotion"] == "happy"
    assert second["t_start"] <= 10.0 and second["t_end"] >= 12.0  # holds the whole plateau
    assert second["t_start"] >= first["t_end"] or second["t_end"] <= first["t_start"]


def test_variance_picks_the_edges_where_emotions_move(tmp_path):
    out = find_highlights(curves(), None, DataLayout(tmp_path), write_clips=False)
    var = out.filter(pl.col("rank_by") == "variance").sort("rank")
    # A 3 s window half on a 0.8 angry step: angry and neutral each vary by 0.8² / 4.
    assert var["score"][:2].to_list() == pytest.approx([0.32, 0.32])
    assert var["t_start"][:2].to_list() == pytest.approx([2.5, 5.5])  # centred on 4 s and 7 s
    assert var["score"][2] == pytest.approx(2 * 0.36 / 4)  # half on the happy step at 10 s
    windows = sorted(zip(var["t_start"], var["t_end"], strict=True))
    assert all(a_end <= b_start + 1e-9 for (_, a_end), (b_start, _) in pairwise(windows))


def test_top_n_and_min_speech_share_limit_the_picks(tmp_path):
    settings = AnalyticsSettings(highlight_top_n=1, highlight_rankings=("intensity",))
    out = find_highlights(curves(), None, DataLayout(tmp_path), settings, write_clips=False)
    assert out.height == 1 and out["rank_by"][0] == "intensity"
    angry = steps((200, 0.0), (150, 0.8), (340, 0.0))
    speech = [False] * 250 + [True] * 70 + [False] * 370  # 1.4 s of speech: under half of 3 s
    sparse = smooth_frames(build_frames(N, {"angry": angry}, speech=speech), window=1)
    assert find_highlights(sparse, None, DataLayout(tmp_path), write_clips=False).is_empty()
    lenient = AnalyticsSettings(highlight_min_speech_share=0.4)
    assert (
        find_highlights(sparse, None, DataLayout(tmp_path), lenient, write_clips=False).height > 0
    )


def test_clips_are_cut_from_the_normalized_audio(layout_with_audio):
    layout, normalized, stored = layout_with_audio
    clips = layout.clips_day(str(DAY))
    clips.mkdir(parents=True)
    stale = clips / f"{RID}_t0_intensity_9.wav"
    other = clips / f"{'f' * 16}_t0_intensity_1.wav"
    stale.write_bytes(b"old")
    other.write_bytes(b"someone else's")
    out = find_highlights(curves(), normalized, layout)
    first = out.filter((pl.col("rank_by") == "intensity") & (pl.col("rank") == 1)).row(
        0, named=True
    )
    assert first["clip_path"] == f"clips/{DAY}/{RID}_t0_intensity_1.wav"
    info = sf.info(str(layout.root / first["clip_path"]))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (
        16000,
        1,
        "PCM_16",
        48000,
    )
    clip, _ = sf.read(str(layout.root / first["clip_path"]), dtype="float64")
    np.testing.assert_allclose(clip, stored[64000:112000], atol=1 / 32768)
    assert out["clip_path"].null_count() == 0
    assert not stale.exists() and other.exists()
    assert not list(clips.glob("*.tmp"))


def test_missing_audio_leaves_clip_path_null(tmp_path):
    normalized = pl.DataFrame(
        {
            "recording_id": [RID],
            "track": pl.Series([0], dtype=pl.Int32),
            "audio_path": [f"processed/{DAY}/missing.wav"],
        }
    )
    out = find_highlights(curves(), normalized, DataLayout(tmp_path))
    assert out.height > 0 and out["clip_path"].null_count() == out.height
    assert dict(out.schema) == HIGHLIGHTS_SCHEMA


def test_empty_input():
    out = find_highlights(smooth_frames(build_frames(0)), None, DataLayout("/nonexistent"))
    assert out.is_empty() and dict(out.schema) == HIGHLIGHTS_SCHEMA
