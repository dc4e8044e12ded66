"""The transcript lane: the emotion of each transcript cue (what was said, and how).

read_cues() is a minimal SubRip (.srt) / WebVTT (.vtt) adapter: timings, text and a WebVTT
<v Speaker> voice. It is the one place to swap for the project's transcript parser
(emotion_assets/audio/transcripts.py) when that lands: lane() only needs start/end/text/speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from emotion_assets.engine.tables import FRAME_CENTRE_S
from emotion_assets.labels import EMOTIONS

TRANSCRIPT_SUFFIXES = (".srt", ".vtt")
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")


class TranscriptError(ValueError):
    """The transcript file could not be read as SubRip or WebVTT."""


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    speaker: str | None = None


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def read_cues(path: Path) -> list[Cue]:
    """Cues of a .srt or .vtt file, in time order."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"the transcript could not be read as UTF-8 text ({exc})") from exc
    cues: list[Cue] = []
    for block in re.split(r"\r?\n\s*\r?\n", text):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            match = _TIMING.match(line)
            if not match:
                continue
            g = match.groups()
            start, end = _seconds(*g[:4]), _seconds(*g[4:])
            body = " ".join(lines[i + 1 :]).strip()
            voice = _VOICE.search(body)
            words = " ".join(_TAG.sub("", body).split())
            if end > start and words:
                cues.append(Cue(start, end, words, voice.group(1).strip() if voice else None))
            break
    if not cues:
        raise TranscriptError("no timed cues found (expected SubRip .srt or WebVTT .vtt)")
    return sorted(cues, key=lambda c: (c.start, c.end))


def lane(cues: list[Cue], frames: pl.DataFrame) -> pl.DataFrame:
    """One row per cue: its text and the mean emotion over the speech frames it covers.

    A frame belongs to a cue when its centre lies in [start, end); a cue without speech frames
    gets null scores (said over silence, or outside the recording).
    """
    centres = frames["t_start"].to_numpy() + FRAME_CENTRE_S
    speech = frames["is_speech"].to_numpy().astype(bool)
    scores = frames.select(EMOTIONS).to_numpy().astype(np.float64)
    rows = []
    for cue in cues:
        lo, hi = np.searchsorted(centres, [cue.start, cue.end], side="left")
        inside = scores[lo:hi][speech[lo:hi]]
        mean = inside.mean(axis=0) if len(inside) else None
        top = int(np.argmax(mean)) if mean is not None else None
        rows.append(
            {
                "start_s": round(cue.start, 2),
                "end_s": round(cue.end, 2),
                "speaker": cue.speaker,
                "text": cue.text,
                "emotion": EMOTIONS[top] if top is not None else None,
                "score": None if top is None else round(float(mean[top]), 3),
                "speech_frames": len(inside),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "start_s": pl.Float64,
            "end_s": pl.Float64,
            "speaker": pl.String,
            "text": pl.String,
            "emotion": pl.String,
            "score": pl.Float64,
            "speech_frames": pl.Int64,
        },
    )
