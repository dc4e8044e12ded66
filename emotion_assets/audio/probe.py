"""What a file is (container, codec, rate, channels) and how long it really is, without ffprobe.

The stream facts come from the banner ffmpeg prints on stderr; the duration is measured by decoding
the first audio stream at its native rate and counting samples, because container headers lie
(VBR MP3 without a Xing header, truncated files, streams with a start offset).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from emotion_assets.audio.ffmpeg_tools import ffmpeg_binary as resolve_binary
from emotion_assets.audio.ffmpeg_tools import last_error_line, safe_input, scrub
from emotion_assets.foundation.labels import RECEPTIVE_FIELD, SAMPLE_RATE

log = logging.getLogger(__name__)

MIN_DURATION_S = RECEPTIVE_FIELD / SAMPLE_RATE  # 25 ms: less than one model frame
DEFAULT_MAX_DURATION_S = 4 * 3600.0
# Plausible sample rates of a recording. Outside this range the header is damaged or hostile:
# a WAV claiming 1 Hz turns 18 KB into "9,000 s" of audio (a 551 MB processed WAV).
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000
_CHUNK = 1 << 20

_INPUT = re.compile(r"^Input #0, (?P<container>.+?), from ", re.M)
_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: (?P<spec>.*)$", re.M)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_RATE = re.compile(r"(\d+) Hz")
_LAYOUTS = {
    "mono": 1,
    "stereo": 2,
    "downmix": 2,
    "2.1": 3,
    "3.0": 3,
    "3.0(back)": 3,
    "quad": 4,
    "quad(side)": 4,
    "3.1": 4,
    "4.0": 4,
    "4.1": 5,
    "5.0": 5,
    "5.0(side)": 5,
    "5.1": 6,
    "5.1(side)": 6,
    "6.0": 6,
    "6.0(front)": 6,
    "hexagonal": 6,
    "6.1": 7,
    "6.1(back)": 7,
    "6.1(front)": 7,
    "7.0": 7,
    "7.0(front)": 7,
    "7.1": 8,
    "7.1(wide)": 8,
    "7.1(wide-side)": 8,
    "octagonal": 8,
    "hexadecagonal": 16,
    "22.2": 24,
}


@dataclass(frozen=True)
class ProbeResult:
    container: str | None
    codec: str | None
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    bytes: int
    sha256: str
    recording_id: str
    problem: str | None = None  # a sentence for people; None when the file is usable
    detail: str | None = None  # ffmpeg's own words

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Banner:
    container: str | None
    codec: str | None
    sample_rate: int | None
    channels: int | None
    claimed_duration_s: float | None
    has_audio: bool


def sha256_file(path: Path) -> str:
    """Streamed, so multi-gigabyte recordings never sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _channels(spec_parts: list[str]) -> int | None:
    for part in spec_parts:
        part = part.strip()
        if part in _LAYOUTS:
            return _LAYOUTS[part]
        if m := re.fullmatch(r"(\d+) channels(?: \(.*\))?", part):
            return int(m.group(1))
        if m := re.fullmatch(r"(\d+)\.(\d+)(?:\(.*\))?", part):
            return int(m.group(1)) + int(m.group(2))
    return None


def parse_banner(stderr: str) -> Banner:
    """Container, codec, rate and channels of the first audio stream of input #0."""
    head = re.split(r"^(?:Stream mapping:|Output #0)", stderr, maxsplit=1, flags=re.M)[0]
    container = m.group("container") if (m := _INPUT.search(head)) else None
    claimed = None
    if d := _DURATION.search(head):
        claimed = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))
    audio = _AUDIO.search(head)
    if not audio:
        return Banner(container, None, None, None, claimed, has_audio=False)
    spec = audio.group("spec")
    parts = [p.strip() for p in re.split(r",(?![^(]*\))", spec)]  # commas outside parentheses
    codec = parts[0].split(" ")[0] if parts and parts[0] else None
    rate = int(r.group(1)) if (r := _RATE.search(spec)) else None
    return Banner(container, codec, rate, _channels(parts[1:]), claimed, has_audio=True)


def count_samples(
    path: Path, *, ffmpeg_binary: str | None = None, limit_s: float | None = None
) -> tuple[int, str, int]:
    """Decode the first audio stream at its native rate, downmixed to 8-bit mono, and count samples.

    Streams stdout so a four-hour file costs one byte per sample in flight, not gigabytes.
    Returns (samples, stderr, returncode).
    """
    kwargs = {"t": f"{limit_s:.3f}"} if limit_s else {}
    stream = safe_input(path, **kwargs)["a:0"].output("pipe:", format="u8", ac=1)
    proc = stream.global_args("-nostdin", "-hide_banner").run_async(
        cmd=resolve_binary(ffmpeg_binary), pipe_stdout=True, pipe_stderr=True
    )
    err_chunks: list[bytes] = []
    # stderr is drained on a thread: a chatty decoder could otherwise fill the pipe and deadlock.
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    reader.start()
    n = 0
    while block := proc.stdout.read(_CHUNK):
        n += len(block)
    proc.wait()
    reader.join()
    return n, scrub(b"".join(err_chunks).decode("utf-8", "replace"), path), proc.returncode


def _fmt(seconds: float) -> str:
    h, rest = divmod(int(round(seconds)), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def probe_file(
    path: str | Path,
    *,
    ffmpeg_binary: str | None = None,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    sha256: str | None = None,
) -> ProbeResult:
    """Facts about one file; never raises for bad audio (see `problem`), only for a missing ffmpeg.

    `ffmpeg_binary` None means ffmpeg_tools.ffmpeg_binary() (env, then imageio-ffmpeg).
    `sha256` may be passed when the caller already hashed the file (saves a second read).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        digest = sha256 or sha256_file(path)
    except OSError as exc:
        return ProbeResult(
            None,
            None,
            None,
            None,
            None,
            0,
            "",
            "",
            "The file could not be read.",
            f"{type(exc).__name__}: {exc}",
        )
    base = {"bytes": size, "sha256": digest, "recording_id": digest[:16]}
    if size == 0:
        return ProbeResult(
            None,
            None,
            None,
            None,
            None,
            **base,
            problem="The file is empty (0 bytes).",
            detail=None,
        )

    # Stop decoding a little after the maximum: enough to know it is too long, no more.
    n, stderr, rc = count_samples(path, ffmpeg_binary=ffmpeg_binary, limit_s=max_duration_s + 1)
    banner = parse_banner(stderr)
    facts = {
        "container": banner.container,
        "codec": banner.codec,
        "sample_rate": banner.sample_rate,
        "channels": banner.channels,
    }

    def fail(problem: str, detail: str | None, duration: float | None = None) -> ProbeResult:
        log.info("probe %s: %s", path.name, problem)
        return ProbeResult(**facts, duration_s=duration, **base, problem=problem, detail=detail)

    if banner.container is None:
        return fail("This is not an audio file ffmpeg can read.", last_error_line(stderr))
    if not banner.has_audio:
        return fail("The file has no audio stream.", f"container {banner.container}")
    if rc != 0 and n == 0:
        return fail("The audio could not be decoded.", last_error_line(stderr))
    if not banner.sample_rate:
        return fail("The audio stream has no sample rate ffmpeg can report.", None)
    if not MIN_SAMPLE_RATE <= banner.sample_rate <= MAX_SAMPLE_RATE:
        return fail(
            f"The sample rate of {banner.sample_rate:,} Hz is not plausible for a recording "
            f"(expected {MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz); the header is probably "
            "damaged.",
            f"header sample rate {banner.sample_rate} Hz",
        )
    duration = n / banner.sample_rate
    if n == 0:
        return fail(
            "The recording contains no audio samples (zero length).", "decoded 0 samples", 0.0
        )
    if duration < MIN_DURATION_S:
        return fail(
            f"The recording is too short ({duration * 1000:.1f} ms); the emotion model needs at "
            f"least {MIN_DURATION_S * 1000:.0f} ms.",
            f"decoded {n} samples",
            duration,
        )
    if duration > max_duration_s:
        claimed = banner.claimed_duration_s
        return fail(
            f"The recording is longer than the configured maximum of {_fmt(max_duration_s)} "
            "(EMOTION_MAX_DURATION_S).",
            f"decoding stopped at {_fmt(duration)}"
            + (f"; the header claims {_fmt(claimed)}" if claimed else ""),
            duration,
        )
    detail = last_error_line(stderr) if rc != 0 else None  # decoded, but ffmpeg complained
    log.info(
        "probe %s: %s/%s %s Hz x%s, %.3f s",
        path.name,
        banner.container,
        banner.codec,
        banner.sample_rate,
        banner.channels,
        duration,
    )
    return ProbeResult(**facts, duration_s=duration, **base, problem=None, detail=detail)
