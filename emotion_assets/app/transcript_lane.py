"""The transcript lane: the emotion of each transcript cue (what was said, and how).

Cues come from the project's transcript parsers (emotion_assets/transcripts: SubRip, WebVTT,
whisperX/faster-whisper and funasr JSON, any text encoding); a cue's emotion follows the
utterance definition (softmax of the mean frame logits over its speech frames), as in the
`segment_emotions` table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from emotion_assets.engine.core import utterance_scores_from_probs
from emotion_assets.foundation.labels import EMOTIONS, FRAME_CENTRE_S
from emotion_assets.foundation.transcript_names import TRANSCRIPT_SUFFIXES
from emotion_assets.transcripts.formats import Cue, UnreadableTranscript, parse_transcript

__all__ = ["TRANSCRIPT_SUFFIXES", "TranscriptError", "lane", "read_cues"]


class TranscriptError(ValueError):
    """The transcript file could not be used; one sentence for the person."""


def read_cues(path: Path) -> list[Cue]:
    """The usable cues of a transcript file (positive length, some text), in time order."""
    path = Path(path)
    try:
        parsed = parse_transcript(path.read_bytes(), path.name)
    except (OSError, UnreadableTranscript) as exc:
        raise TranscriptError(str(exc)) from exc
    cues = sorted(
        (c for c in parsed.cues if c.end > c.start and c.text.strip()),
        key=lambda c: (c.start, c.end),
    )
    if not cues:
        raise TranscriptError(
            f"{path.name} has no timed cues (SubRip, WebVTT or a whisper/funasr JSON expected)."
        )
    return cues


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
        mean = utterance_scores_from_probs(inside) if len(inside) else None
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
