"""Highlights: the top-N most emotional windows per (recording, track), two rankings, with clips.

Candidate windows start at every frame and span window_s (3 s = 150 frames; the whole track when
it is shorter). Scores use the smoothed curves; non-speech frames do not count and a window
needs at least min_speech_share of its frames to be speech.

- rank_by 'intensity': mean over the window's frames of the emotional mass
  angry + disgusted + fearful + happy + sad + surprised (= 1 − neutral − other − unknown),
  non-speech frames counting 0. `other`/`unknown` are left out so noise is not "emotional".
- rank_by 'variance' (the seed's key-frame recipe): total variance of the score vector over the
  window's speech frames, Σ_e Var_t(score_e) — where the emotions move most.

Picking is greedy: best window first, then the best that does not overlap any picked one; ties
go to the earliest window, and windows scoring 0 (nothing emotional / nothing moving) are never
picked, so a calm track may get fewer than N highlights.
dominant_emotion is the emotional label (not neutral/other/unknown) with the highest mean.
Each pick gets a 16-bit PCM WAV cut from the normalized audio, written atomically to
clips/<date>/<recording_id>_t<track>_<rank_by>_<rank>.wav; clip_path is relative to the data
dir, null when the normalized audio is missing (a warning is logged).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import polars as pl
import soundfile as sf

from emotion_assets.analytics.common import EMOTIONAL, empty
from emotion_assets.analytics.spoken_text import attach_spoken_text
from emotion_assets.contracts import HIGHLIGHTS_SCHEMA, conform
from emotion_assets.foundation.atomic_files import atomic_path
from emotion_assets.foundation.labels import EMOTIONS, FRAME_HOP_S
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import AnalyticsSettings
from emotion_assets.storage.tracks import track_stem

log = logging.getLogger(__name__)


_EMOTIONAL_IDX = [EMOTIONS.index(e) for e in EMOTIONAL]
_EPS = 1e-9


def _window_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sums over every window of `width` rows (axis 0), one per start position."""
    cs = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    return cs[width:] - cs[:-width]


def window_scores(
    scores: np.ndarray, speech: np.ndarray, width: int, min_speech: int
) -> dict[str, np.ndarray]:
    """Per start position: intensity and variance scores (-inf where not eligible).

    scores: (n, 9) smoothed scores with non-speech rows ignored; speech: (n,) bool.
    """
    x = np.where(speech[:, None], np.nan_to_num(scores.astype(np.float64)), 0.0)
    count = _window_sums(speech.astype(np.float64), width)
    sums = _window_sums(x, width)
    squares = _window_sums(x * x, width)
    safe = np.maximum(count, 1.0)[:, None]
    variance = np.clip(squares / safe - (sums / safe) ** 2, 0.0, None).sum(axis=1)
    intensity = sums[:, _EMOTIONAL_IDX].sum(axis=1) / width
    # A window with nothing emotional (or nothing moving) is no highlight; the tolerance absorbs
    # the rounding of the cumulative sums.
    eligible = count >= max(min_speech, 1)
    return {
        "intensity": np.where(eligible & (intensity > _EPS), intensity, -np.inf),
        "variance": np.where(eligible & (count >= 2) & (variance > _EPS), variance, -np.inf),
        "_sums": sums,
    }


def pick_non_overlapping(score: np.ndarray, width: int, top_n: int) -> list[int]:
    """Greedy: the best start, then the best start whose window overlaps no picked window."""
    score = score.copy()
    picked: list[int] = []
    for _ in range(top_n):  # top_n picks, each a vectorised argmax
        if score.size == 0:
            break
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        picked.append(best)
        score[max(0, best - width + 1) : best + width] = -np.inf
    return picked


def _clip_name(recording_id: str, track: int, rank_by: str, rank: int) -> str:
    return f"{track_stem(recording_id, track)}_{rank_by}_{rank}.wav"


def write_clip(source: Path, target: Path, t_start: float, t_end: float) -> None:
    """Cut [t_start, t_end) from `source` into a 16-bit PCM WAV at `target`, atomically."""
    info = sf.info(str(source))
    start = min(info.frames, max(0, round(t_start * info.samplerate)))
    stop = min(info.frames, max(start, round(t_end * info.samplerate)))
    audio, rate = sf.read(str(source), start=start, stop=stop, dtype="float32", always_2d=True)
    with atomic_path(target) as tmp:
        sf.write(str(tmp), audio, rate, subtype="PCM_16", format="WAV")


def _audio_paths(normalized: pl.DataFrame | None) -> dict[tuple[str, int], str]:
    if normalized is None or normalized.is_empty():
        return {}
    rows = normalized.select("recording_id", "track", "audio_path").iter_rows()
    return {(rid, int(track)): path for rid, track, path in rows}


def _remove_stale_clips(folder: Path, recording_id: str, track: int, keep: set[str]) -> None:
    """A re-run may find fewer highlights: drop this track's clips that are no longer listed."""
    if folder.is_dir():
        for old in folder.glob(f"{track_stem(recording_id, track)}_*.wav"):
            if old.name not in keep:
                old.unlink(missing_ok=True)


def find_highlights(
    smoothed: pl.DataFrame,
    normalized: pl.DataFrame | None,
    layout: DataLayout,
    settings: AnalyticsSettings | None = None,
    *,
    write_clips: bool = True,
    transcript: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Table `emotion_highlights` from smoothed_emotion_curves; writes the clips (see module doc).

    `transcript` (transcript_segments) gives each highlight the text said during it.
    """
    settings = settings or AnalyticsSettings()
    if smoothed.is_empty() or settings.highlight_top_n == 0:
        return empty(HIGHLIGHTS_SCHEMA)
    audio = _audio_paths(normalized)
    width_full = max(1, round(settings.highlight_window_s / FRAME_HOP_S))
    rows: list[dict] = []
    for track_frames in smoothed.sort("frame_idx").partition_by(
        ["recording_id", "track"], maintain_order=True
    ):  # one iteration per track; the frames inside are handled as arrays
        first = track_frames.row(0, named=True)
        day, rid, track = first["recording_date"], first["recording_id"], int(first["track"])
        width = min(width_full, track_frames.height)
        min_speech = math.ceil(settings.highlight_min_speech_share * width - 1e-9)
        scores = track_frames.select(EMOTIONS).to_numpy().astype(np.float64)
        speech = track_frames["is_speech"].to_numpy().astype(bool)
        ranked = window_scores(scores, speech, width, min_speech)
        starts = track_frames["t_start"].to_numpy()
        speakers = track_frames["speaker"]
        keep: set[str] = set()
        for rank_by in settings.highlight_rankings:
            for rank, start in enumerate(
                pick_non_overlapping(ranked[rank_by], width, settings.highlight_top_n), start=1
            ):
                emotional_sums = ranked["_sums"][start, _EMOTIONAL_IDX]
                window_speakers = speakers.slice(start, width).drop_nulls().mode().sort()
                t_start = float(starts[start])
                rows.append(
                    {
                        "recording_date": day,
                        "recording_id": rid,
                        "track": track,
                        "rank_by": rank_by,
                        "rank": rank,
                        "t_start": t_start,
                        "t_end": t_start + width * FRAME_HOP_S,
                        "duration_s": width * FRAME_HOP_S,
                        "speaker": window_speakers[0] if len(window_speakers) else None,
                        "dominant_emotion": EMOTIONAL[int(np.argmax(emotional_sums))],
                        "score": float(ranked[rank_by][start]),
                        "clip_path": None,
                        "text": None,
                    }
                )
                if write_clips:
                    rows[-1]["clip_path"] = _cut(layout, audio.get((rid, track)), rows[-1])
                    if rows[-1]["clip_path"]:
                        keep.add(Path(rows[-1]["clip_path"]).name)
        if write_clips:
            _remove_stale_clips(layout.clips_day(str(day)), rid, track, keep)
    if not rows:
        return empty(HIGHLIGHTS_SCHEMA)
    picked = pl.DataFrame(rows, schema=HIGHLIGHTS_SCHEMA)
    return conform(attach_spoken_text(picked, transcript), HIGHLIGHTS_SCHEMA)


def _cut(layout: DataLayout, audio_path: str | None, row: dict) -> str | None:
    source = layout.resolve_inside(audio_path) if audio_path else None
    if source is None or not source.is_file():
        log.warning(
            "no normalized audio for %s track %s: highlight without clip",
            row["recording_id"],
            row["track"],
        )
        return None
    target = layout.clips_day(str(row["recording_date"])) / _clip_name(
        row["recording_id"], row["track"], row["rank_by"], row["rank"]
    )
    write_clip(source, target, row["t_start"], row["t_end"])
    return layout.relative(target)
