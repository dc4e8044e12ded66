"""Issue 11, item 4: peak memory is bounded by the audio's length, not by its channel count,
speaker names or number of speakers. Each case runs in a fresh subprocess that reports its own
peak RSS (getrusage) before and after the work."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion_assets_tests.audio.helpers import DAY, make_day

MB = 2**20
TRACK_BYTES_PER_S = 4 * 16_000  # one 16 kHz float32 track
# What any step may use beyond its baseline whatever the input: blocks in flight, polars and
# torch working memory. The bounds below add the documented length-dependent part to it.
FIXED_ALLOWANCE = 64 * MB


def _peak_rss(script: str) -> dict:
    """Run `script` in a new interpreter; it must define work() -> dict (after its imports)."""
    runner = textwrap.dedent(script) + textwrap.dedent(
        """
        import json, resource
        warm_up()
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        info = work()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"base": base, "peak": peak, **info}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", runner], capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _eight_channel_flac(path: Path, seconds: int) -> None:
    """8 channels of different tones, written in blocks (the test itself stays small)."""
    with sf.SoundFile(path, "w", samplerate=16_000, channels=8, subtype="PCM_16") as out:
        for start in range(0, seconds, 10):
            t = np.arange(start * 16_000, (start + 10) * 16_000) / 16_000
            tones = [0.2 * np.sin(2 * np.pi * (150 + 40 * c) * t) for c in range(8)]
            out.write(np.stack(tones, axis=1).astype(np.float32))


@pytest.mark.slow
def test_ingest_of_an_eight_channel_file_holds_one_track_at_most(tmp_path: Path) -> None:
    seconds = 180
    root = tmp_path / "data"
    day = make_day(
        root, {"call.json": json.dumps({"channels": {str(c): f"p{c}" for c in range(8)}})}
    )
    _eight_channel_flac(day / "call.flac", seconds)
    result = _peak_rss(
        f"""
        import numpy as np
        from emotion_assets.audio import ingest
        from emotion_assets.audio.vad import speech_regions
        from emotion_assets.foundation.layout import DataLayout

        layout = DataLayout({str(root)!r})

        def warm_up():
            tone = np.sin(np.arange(16_000) / 10).astype(np.float32) * 0.1
            speech_regions(tone)  # imports, the VAD model and its first run (ONNX arenas)

        def work():
            raw = ingest.probe_day(layout, {DAY!r})
            normalized, problems = ingest.normalize_day(layout, {DAY!r}, raw)
            segments = ingest.segment_tracks(layout, normalized)
            return {{"tracks": normalized.height, "seconds": float(normalized["duration_s"].max())}}
        """
    )
    assert result["tracks"] == 8 and abs(result["seconds"] - seconds) < 0.1
    # Documented (docs/audio.md, Memory): decoding streams; the VAD then reads one track at a
    # time (its samples plus one working copy). Holding the 8 channels (twice, as before) would
    # need 8 x 2 x 11.5 MB here.
    allowed = FIXED_ALLOWANCE + 2 * TRACK_BYTES_PER_S * seconds
    used = result["peak"] - result["base"]
    assert used < allowed, f"{used / MB:.0f} MB used, {allowed / MB:.0f} MB allowed"


def test_frame_rows_do_not_grow_with_speaker_names_or_speaker_counts() -> None:
    seconds = 300
    n_frames = seconds * 50
    result = _peak_rss(
        f"""
        import datetime as dt
        import numpy as np
        from emotion_assets.engine.core import FrameScores
        from emotion_assets.engine.tables import frame_table

        n = {n_frames}
        rng = np.random.default_rng(0)

        def scores(n):
            probs = np.full((n, 9), 1 / 9, np.float32)
            return FrameScores(logits=np.log(probs), probs=probs, features=None, n_samples=n * 320)

        def table(turns, n):
            return frame_table(
                scores(n), recording_id="r" * 16, recording_date=dt.date(2024, 1, 1), track=0,
                model_id="m", speech_segments=[(0.0, n * 0.02)], turns=turns,
            )

        def warm_up():
            table([("a", 0.0, 1.0)], 100)

        def work():
            # 150,000 speakers, 2 turns each, over a 5-minute file (was speakers x frames masks)
            starts = rng.uniform(0, {seconds}, 300_000)
            crowd = [(f"spk{{i // 2}}", s, s + 0.5) for i, s in enumerate(starts)]
            frames = table(crowd, n)
            # one 2 MB name covering every frame (was copied into each row)
            named = table([("x" * 2_000_000, 0.0, {seconds}.0)], n)
            return {{
                "rows": frames.height,
                "named_ok": named["speaker"].str.len_chars().max() == 2_000_000,
            }}
        """
    )
    assert result["rows"] == n_frames and result["named_ok"]
    # Allowed: the fixed allowance, the turns (300,000 tuples, ~100 bytes each) and a few
    # 8-byte columns per frame. Speakers x frames masks would be 2.25 GB; a 2 MB name copied
    # into 15,000 rows 30 GB.
    allowed = FIXED_ALLOWANCE + 300_000 * 200 + n_frames * 8 * 40
    used = result["peak"] - result["base"]
    assert used < allowed, f"{used / MB:.0f} MB used, {allowed / MB:.0f} MB allowed"
