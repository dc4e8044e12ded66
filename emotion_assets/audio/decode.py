"""Decode any ffmpeg-readable file to float32 at 16 kHz, level statistics, and atomic WAV writes."""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Literal

import ffmpeg
import numpy as np
import soundfile as sf

from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary as default_binary
from emotion_assets.audio.ffmpeg_tools import last_error_line, safe_input, scrub
from emotion_assets.audio.probe import _channels
from emotion_assets.labels import SAMPLE_RATE

log = logging.getLogger(__name__)

CLIP_LEVEL = 0.999
TEMP_PREFIX = ".tmp-"  # hidden, so a half-written file is never mistaken for a result
_OUT_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: (?P<spec>.*)$", re.M)


class DecodeError(RuntimeError):
    """ffmpeg could not turn the file into samples; `detail` holds its own words."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


def _output_channels(stderr: str) -> int | None:
    """Channels of the decoded stream, from the output section of ffmpeg's stderr."""
    parts = re.split(r"^Output #0", stderr, maxsplit=1, flags=re.M)
    if len(parts) < 2 or not (m := _OUT_AUDIO.search(parts[1])):
        return None
    return _channels([p.strip() for p in re.split(r",(?![^(]*\))", m.group("spec"))[1:]])


def decode(
    path: str | Path,
    *,
    ffmpeg_binary: str | None = None,
    sample_rate: int = SAMPLE_RATE,
    mode: Literal["mono", "channels"] = "mono",
) -> np.ndarray:
    """Samples of the first audio stream as float32, shape (channels, N).

    mode="mono": ffmpeg's own downmix (-ac 1); mode="channels": every channel kept.
    The container is detected from the content, never from the extension.
    """
    if mode not in ("mono", "channels"):
        raise ValueError(f"mode must be 'mono' or 'channels', not {mode!r}")
    out_args: dict[str, object] = {"format": "f32le", "ar": sample_rate}
    if mode == "mono":
        out_args["ac"] = 1
        # Float output skips swresample's matrix normalisation: stereo would become (L+R)/sqrt2 and
        # could exceed full scale. maxval 1 makes it the plain mean (L+R)/2.
        out_args["rematrix_maxval"] = 1.0
    stream = safe_input(Path(path))["a:0"].output("pipe:", **out_args)
    try:
        raw, err = stream.global_args("-nostdin", "-hide_banner").run(
            cmd=default_binary(ffmpeg_binary), capture_stdout=True, capture_stderr=True
        )
    except ffmpeg.Error as exc:
        text = scrub((exc.stderr or b"").decode("utf-8", "replace"), Path(path))
        raise DecodeError(
            f"ffmpeg could not decode {Path(path).name}", last_error_line(text)
        ) from exc
    stderr = scrub(err.decode("utf-8", "replace"), Path(path))
    n_channels = 1 if mode == "mono" else _output_channels(stderr)
    if not n_channels:
        raise DecodeError(
            f"could not tell how many channels {Path(path).name} has", last_error_line(stderr)
        )
    samples = np.frombuffer(raw, dtype="<f4")
    usable = len(samples) - len(samples) % n_channels  # a torn last frame is dropped
    # ffmpeg interleaves channels: frame after frame, so reshape (N, C) then transpose.
    out = samples[:usable].reshape(-1, n_channels).T.astype(np.float32, copy=True)
    log.debug("decoded %s: %d ch x %d samples @ %d Hz", Path(path).name, *out.shape, sample_rate)
    return out


def level_stats(x: np.ndarray) -> dict[str, float]:
    """peak and rms of the samples, and the fraction at or beyond full scale (|x| >= 0.999)."""
    a = np.abs(np.asarray(x, dtype=np.float32)).ravel()
    if a.size == 0:
        return {"peak": 0.0, "rms": 0.0, "clipped_fraction": 0.0}
    return {
        "peak": float(a.max()),
        "rms": float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))),
        "clipped_fraction": float(np.count_nonzero(a >= CLIP_LEVEL) / a.size),
    }


def write_wav_f32(path: str | Path, x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """32-bit float mono WAV, written under a temporary name in the same folder then renamed.

    A crash mid-write leaves a hidden temp file, never a truncated WAV under the real name.
    """
    path = Path(path)
    data = np.asarray(x, dtype=np.float32)
    if data.ndim == 2:
        if data.shape[0] != 1:
            raise ValueError(f"write_wav_f32 writes mono; got shape {data.shape}")
        data = data[0]
    if data.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {data.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        sf.write(tmp, data, sample_rate, subtype="FLOAT", format="WAV")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
