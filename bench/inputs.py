"""Benchmark inputs: real speech decoded to 16 kHz float32, as clips and as looped recordings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emotion_assets.foundation.labels import SAMPLE_RATE

REPO = Path(__file__).resolve().parents[1]
SPEECH_SUFFIXES = (".wav", ".ogg", ".flac", ".mp3", ".m4a", ".opus", ".webm")
# Clips outside 10-30 s are not "short clips" in the benchmark's sense.
CLIP_MIN_S, CLIP_MAX_S = 10.0, 30.0


def shared_audio_dir() -> Path:
    """Same rule as the tests: $EMOTION_SHARED_AUDIO, else <repo>/../shared/audio."""
    env = os.environ.get("EMOTION_SHARED_AUDIO", "").strip()
    return Path(env) if env else REPO.parent / "shared" / "audio"


def _decode_ffmpeg(path: Path) -> np.ndarray:
    import ffmpeg  # ffmpeg-python
    import imageio_ffmpeg

    out, _ = (
        ffmpeg.input(str(path))
        .output("pipe:", format="f32le", acodec="pcm_f32le", ac=1, ar=SAMPLE_RATE)
        .run(cmd=imageio_ffmpeg.get_ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
    )
    return np.frombuffer(out, dtype=np.float32).copy()


def decode(path: Path) -> np.ndarray:
    """Mono 16 kHz float32; the project's decoder when it exists, else a direct ffmpeg call."""
    try:
        from emotion_assets.audio.decode import decode as project_decode
    except ImportError:
        return _decode_ffmpeg(path)
    result = project_decode(path)
    wave = result if isinstance(result, np.ndarray) else getattr(result, "samples", None)
    if wave is None:  # unknown return shape: don't guess, use ffmpeg
        return _decode_ffmpeg(path)
    return np.ascontiguousarray(np.asarray(wave, dtype=np.float32).reshape(-1))


def speech_clips(speech_dir: Path | None = None) -> dict[str, np.ndarray]:
    """Every 10-30 s recording in the shared speech folder, by file stem, in name order."""
    folder = speech_dir or shared_audio_dir() / "speech"
    clips: dict[str, np.ndarray] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in SPEECH_SUFFIXES:
            continue
        wave = decode(path)
        if CLIP_MIN_S <= len(wave) / SAMPLE_RATE <= CLIP_MAX_S + 0.5:
            clips[path.stem] = wave
    if not clips:
        raise FileNotFoundError(f"no 10-30 s speech recordings in {folder}")
    return clips


def looped(clips: dict[str, np.ndarray], minutes: float) -> np.ndarray:
    """The clips played one after another, repeated until `minutes` of audio (a long recording)."""
    joined = np.concatenate(list(clips.values()))
    n = int(round(minutes * 60 * SAMPLE_RATE))
    # np.resize repeats the input into one new array: no second full-length copy inflates RSS.
    return np.resize(joined, n).astype(np.float32, copy=False)


def save_clips(clips: dict[str, np.ndarray], path: Path) -> Path:
    np.savez(path, **clips)
    return path


def load_clips(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {name: data[name].astype(np.float32) for name in data.files}


def nonspeech_clips(folder: Path | None = None) -> list[np.ndarray]:
    """The music/noise recordings in shared/audio/nonspeech (whale song, bird whistle)."""
    folder = folder or shared_audio_dir() / "nonspeech"
    waves = [decode(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in SPEECH_SUFFIXES]
    if not waves:
        raise FileNotFoundError(f"no non-speech recordings in {folder}")
    return waves


def call_day(
    clips: dict[str, np.ndarray],
    nonspeech: list[np.ndarray],
    minutes: float = 60.0,
    seed: int = 17,
) -> tuple[np.ndarray, dict[str, float]]:
    """A day of calls as one recording: turns of real speech with the pauses of a conversation.

    Turns are the shared speech clips in a seeded random order, separated by 0.2-3 s pauses;
    every ~10 minutes a 20-60 s silence (a call ends, the next one starts), and one 60-120 s
    stretch of music/noise (hold music) from the non-speech recordings, at the middle of the day.
    Days shorter than an hour scale the silences, their spacing and the hold down in proportion.
    Silence carries a faint noise floor (-66 dBFS), as a real line does. Returns the waveform and
    what went into it (seconds of speech, pauses, silences, non-speech).
    """
    rng = np.random.default_rng(seed)
    n_total = int(round(minutes * 60 * SAMPLE_RATE))
    names = list(clips)
    scale = min(1.0, minutes / 60)
    gaps_s = 600.0 * scale  # one long silence per ~10 min of an hour
    pieces: list[np.ndarray] = []
    made = {"speech_s": 0.0, "pause_s": 0.0, "silence_s": 0.0, "nonspeech_s": 0.0}
    n, next_gap, hold_done = 0, gaps_s, False

    def add(wave: np.ndarray, kind: str) -> None:
        nonlocal n
        pieces.append(wave.astype(np.float32, copy=False))
        n += len(wave)
        made[kind] += len(wave) / SAMPLE_RATE

    def quiet(seconds: float) -> np.ndarray:
        return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 5e-4).astype(np.float32)

    while n < n_total:
        add(clips[names[rng.integers(len(names))]], "speech_s")
        t = n / SAMPLE_RATE
        if not hold_done and t >= minutes * 30:
            hold = np.concatenate(nonspeech)
            seconds = float(rng.uniform(60, 120)) * scale
            add(np.resize(hold, int(seconds * SAMPLE_RATE)) * 0.5, "nonspeech_s")
            hold_done = True
        elif t >= next_gap:
            add(quiet(float(rng.uniform(20, 60)) * scale), "silence_s")
            next_gap += gaps_s
        else:
            add(quiet(float(rng.uniform(0.2, 3.0))), "pause_s")
    wave = np.concatenate(pieces)[:n_total]
    return np.ascontiguousarray(wave), {k: round(v, 1) for k, v in made.items()}
