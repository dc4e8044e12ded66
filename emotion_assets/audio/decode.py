"""Decode any ffmpeg-readable file to float32 at 16 kHz, level statistics, and atomic WAV writes.

Samples are sanitised on the way: NaN/±Inf (a 32-bit float WAV can hold them) become 0 and
values beyond full scale are clipped to ±1, so no non-finite value reaches the model or a table.
The counts are returned so the ingest can say what it did.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ffmpeg
import numpy as np
import soundfile as sf

from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary as default_binary
from emotion_assets.audio.ffmpeg_tools import last_error_line, safe_input, scrub
from emotion_assets.audio.probe import _channels
from emotion_assets.foundation.atomic_files import atomic_path
from emotion_assets.foundation.labels import SAMPLE_RATE

log = logging.getLogger(__name__)

CLIP_LEVEL = 0.999
TEMP_PREFIX = ".tmp-"  # hidden, so a half-written file is never mistaken for a result
_OUT_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: (?P<spec>.*)$", re.M)
_IN_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: ", re.M)
_BLOCK_BYTES = 1 << 20  # 1 MiB of float32 samples in flight while streaming a track


class DecodeError(RuntimeError):
    """ffmpeg could not turn the file into samples; `detail` holds its own words."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class TrackStats:
    """What streaming one track to a WAV found: its length, levels and what was repaired."""

    n_samples: int
    peak: float
    rms: float
    clipped_fraction: float
    non_finite: int  # NaN/±Inf samples, replaced by 0
    over_full_scale: int  # finite samples beyond ±1, clipped
    max_abs_before_clip: float  # the largest finite |x| before clipping (1e30 for a broken file)
    audio_streams: int  # audio streams in the input (only `stream` was decoded)

    def levels(self) -> dict[str, float]:
        return {"peak": self.peak, "rms": self.rms, "clipped_fraction": self.clipped_fraction}


def sanitize(x: np.ndarray) -> tuple[int, int, float]:
    """In place: NaN/±Inf -> 0, |x| > 1 -> ±1. Returns (non-finite, clipped, largest finite |x|)."""
    bad = ~np.isfinite(x)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        x[bad] = 0.0
    largest = float(np.abs(x).max()) if x.size else 0.0
    n_over = int(np.count_nonzero(np.abs(x) > 1.0)) if largest > 1.0 else 0
    if n_over:
        np.clip(x, -1.0, 1.0, out=x)
    return n_bad, n_over, largest


def audio_streams(stderr: str) -> int:
    """Audio streams of input #0 in ffmpeg's (scrubbed) stderr."""
    head = re.split(r"^(?:Stream mapping:|Output #0)", stderr, maxsplit=1, flags=re.M)[0]
    return len(_IN_AUDIO.findall(head))


def decode_to_wav(
    path: str | Path,
    target: str | Path,
    *,
    channel: int | None = None,
    stream: int = 0,
    ffmpeg_binary: str | None = None,
) -> TrackStats:
    """Stream one track of `path` into a 16 kHz mono float32 WAV at `target` (atomic).

    channel=None: the mean of all channels (ffmpeg -ac 1); channel=k: only channel k, picked by
    ffmpeg's pan filter. Memory stays at one block (~1 MiB) whatever the length or channel count:
    nothing is held but the block being sanitised and written.
    """
    path, target = Path(path), Path(target)
    node = safe_input(path)[f"a:{stream}"]
    out_args: dict[str, object] = {"format": "f32le", "ar": SAMPLE_RATE}
    if channel is None:
        out_args.update(ac=1, rematrix_maxval=1.0)  # plain mean, see decode()
    else:
        out_args["af"] = f"pan=mono|c0=c{int(channel)}"  # as -af: ffmpeg-python would escape "="
    proc = (
        node.output("pipe:", **out_args)
        .global_args("-nostdin", "-hide_banner")
        .run_async(cmd=default_binary(ffmpeg_binary), pipe_stdout=True, pipe_stderr=True)
    )
    err_chunks: list[bytes] = []
    # stderr on a thread: a chatty decoder could otherwise fill the pipe and deadlock.
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()
    n = n_bad = n_over = clipped = 0
    peak = largest = 0.0
    squares = 0.0
    try:
        with atomic_path(target) as tmp:
            with sf.SoundFile(
                tmp, "w", samplerate=SAMPLE_RATE, channels=1, subtype="FLOAT", format="WAV"
            ) as out:
                rest = b""
                while block := proc.stdout.read(_BLOCK_BYTES):
                    block = rest + block
                    usable = len(block) - len(block) % 4
                    rest = block[usable:]
                    x = np.frombuffer(block[:usable], dtype="<f4").copy()
                    bad, over, big = sanitize(x)
                    n_bad, n_over, largest = n_bad + bad, n_over + over, max(largest, big)
                    a = np.abs(x)
                    if a.size:
                        peak = max(peak, float(a.max()))
                    squares += float(np.dot(x.astype(np.float64), x.astype(np.float64)))
                    clipped += int(np.count_nonzero(a >= CLIP_LEVEL))
                    n += x.size
                    out.write(x)
            proc.wait()
            reader.join()
            stderr = scrub(b"".join(err_chunks).decode("utf-8", "replace"), path)
            if proc.returncode != 0 and n == 0:
                raise DecodeError(f"ffmpeg could not decode {path.name}", last_error_line(stderr))
    finally:
        if proc.poll() is None:  # an exception (disk full) while ffmpeg still writes
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
    return TrackStats(
        n_samples=n,
        peak=peak,
        rms=float(np.sqrt(squares / n)) if n else 0.0,
        clipped_fraction=clipped / n if n else 0.0,
        non_finite=n_bad,
        over_full_scale=n_over,
        max_abs_before_clip=largest,
        audio_streams=audio_streams(stderr),
    )


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
    del raw, samples
    bad, over, _ = sanitize(out)
    if bad or over:
        log.warning(
            "%s: %d non-finite sample(s) set to 0, %d beyond full scale clipped",
            Path(path).name,
            bad,
            over,
        )
    log.debug("decoded %s: %d ch x %d samples @ %d Hz", Path(path).name, *out.shape, sample_rate)
    return out


def write_wav_f32(path: str | Path, x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """32-bit float mono WAV, written under a temporary name in the same folder then renamed.

    A crash mid-write leaves a hidden temp file, never a truncated WAV under the real name; a
    full disk raises DiskFullError (one sentence saying where).
    """
    path = Path(path)
    data = np.asarray(x, dtype=np.float32)
    if data.ndim == 2:
        if data.shape[0] != 1:
            raise ValueError(f"write_wav_f32 writes mono; got shape {data.shape}")
        data = data[0]
    if data.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {data.shape}")
    with atomic_path(path) as tmp:
        sf.write(tmp, data, sample_rate, subtype="FLOAT", format="WAV")
    return path
