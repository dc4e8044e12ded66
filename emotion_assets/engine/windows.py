"""Where the fixed-length windows go, and which frames each window contributes.

All positions are in frames (320 samples): a window starting at frame s reads samples
[320 s, 320 s + window_samples), so its frame j is global frame s + j. Windows overlap by
2 x context frames; every frame is kept from the window whose centre is nearest, which leaves
at least `context` frames of audio on both sides of every kept frame (except at the track ends).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emotion_assets.foundation.labels import (
    FRAME_CENTRE_S,
    FRAME_HOP_S,
    FRAME_STRIDE,
    RECEPTIVE_FIELD,
    SAMPLE_RATE,
)


@dataclass(frozen=True)
class Window:
    start: int  # first global frame of the window
    length: int  # frames the model emits for it
    keep_from: int  # global frames [keep_from, keep_to) are taken from this window
    keep_to: int

    @property
    def sample_start(self) -> int:
        return self.start * FRAME_STRIDE

    @property
    def sample_length(self) -> int:
        return (self.length - 1) * FRAME_STRIDE + RECEPTIVE_FIELD


def window_frames(seconds: float) -> int:
    """Frames in a window of `seconds` (at least 1)."""
    samples = round(seconds * SAMPLE_RATE)
    return max(1, (samples - RECEPTIVE_FIELD) // FRAME_STRIDE + 1)


def plan_windows(total_frames: int, length: int, context: int) -> list[Window]:
    """Equal-length windows covering total_frames; one window when the track fits in one."""
    if total_frames <= 0:
        return []
    if total_frames <= length:
        return [Window(0, total_frames, 0, total_frames)]
    hop = length - 2 * context
    if hop < 1:
        raise ValueError("context must be shorter than half the window")
    starts = list(range(0, total_frames - length, hop)) + [total_frames - length]
    starts = sorted(set(starts))
    # Boundary between consecutive windows: the midpoint of their centres.
    pairs = zip(starts[:-1], starts[1:], strict=True)
    bounds = [0] + [(2 * a + 2 * b + 2 * length - 2) // 4 + 1 for a, b in pairs]
    bounds.append(total_frames)
    return [Window(s, length, bounds[i], bounds[i + 1]) for i, s in enumerate(starts)]


# --- windows that follow the conversation ---------------------------------------------------
Interval = tuple[float, float]


def speech_frame_ranges(segments: Sequence[Interval], total_frames: int) -> list[tuple[int, int]]:
    """[lo, hi) frame ranges whose centres lie inside the (start, end) second intervals.

    The same rule as the frame table's is_speech (a frame belongs to a segment by its centre),
    merged and in time order.
    """
    centres = np.arange(total_frames, dtype=np.float64) * FRAME_HOP_S + FRAME_CENTRE_S
    ranges: list[tuple[int, int]] = []
    for start, end in sorted((float(s), float(e)) for s, e in segments):
        lo, hi = (int(i) for i in np.searchsorted(centres, [start, end], side="left"))
        if hi <= lo:
            continue
        if ranges and lo <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return ranges


def speech_mask(segments: Sequence[Interval], total_frames: int) -> np.ndarray:
    mask = np.zeros(total_frames, dtype=bool)
    for lo, hi in speech_frame_ranges(segments, total_frames):
        mask[lo:hi] = True
    return mask


def _pause_zones(
    speech: list[tuple[int, int]], span: tuple[int, int], min_pause: int
) -> list[tuple[int, int]]:
    """Frames inside `span` where a window may end: the middle of every pause >= min_pause.

    A cut keeps at least half the minimum pause of silence on each side of it, so the frames
    next to a cut are silence, and the speech on either side is scored in one piece.
    """
    lo, hi = span
    edges = [lo] + [e for r in speech for e in r] + [hi]
    zones = []
    for pause_lo, pause_hi in zip(edges[0::2], edges[1::2], strict=True):
        pause_lo, pause_hi = max(pause_lo, lo), min(pause_hi, hi)
        if pause_hi - pause_lo >= min_pause:
            half = min_pause // 2
            zones.append((pause_lo + half, pause_hi - (min_pause - half)))
    return zones


def _stretch(start: int, end: int, length: int, context: int) -> list[Window]:
    """[start, end) as one window, or today's overlapping windows when it is longer."""
    if end - start <= length:
        return [Window(start, end - start, start, end)]
    shifted = plan_windows(end - start, length, context)
    return [
        Window(w.start + start, w.length, w.keep_from + start, w.keep_to + start) for w in shifted
    ]


def plan_pause_aligned(
    total_frames: int,
    length: int,
    context: int,
    segments: Sequence[Interval],
    *,
    min_pause: int,
    speech_only: bool = False,
    margin: int = 0,
    pack: int | None = None,
) -> list[Window]:
    """Windows cut in the pauses between speech segments (all in frames but `segments`).

    All-frames mode covers [0, total_frames); speech-only mode covers only the speech frames
    widened by `margin` frames on each side. Each covered span is packed greedily: a window runs
    from the last cut to the furthest pause of at least `min_pause` frames within `pack` frames
    (default `length`); with none there, to the nearest such pause within `length` frames. So
    consecutive windows need no overlap, and windows stay near `pack` long: attention costs
    grow with the square of a window's length (docs/engine.md). Only where speech runs longer
    than a window without such a pause does that stretch fall back to overlapping windows with
    `context` frames on each side (plan_windows). min_pause 0: no cuts at all, so all-frames
    mode is exactly plan_windows.
    """
    pack = length if pack is None else min(pack, length)
    if pack < 1:
        raise ValueError("pack must be at least one frame")
    speech = speech_frame_ranges(segments, total_frames)
    if speech_only:
        spans: list[tuple[int, int]] = []
        for lo, hi in speech:
            lo, hi = max(0, lo - margin), min(total_frames, hi + margin)
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
    else:
        spans = [(0, total_frames)] if total_frames > 0 else []
    windows: list[Window] = []
    for span in spans:
        zones = _pause_zones(speech, span, min_pause) if min_pause > 0 else []
        pos, end = span
        while pos < end:
            target, reach = pos + pack, pos + length
            if end <= target:
                windows += _stretch(pos, end, length, context)
                break
            # the furthest cut within the packing target, else the nearest one within a window
            cut = max(
                (min(z_hi, target) for z_lo, z_hi in zones if z_hi > pos and z_lo <= target),
                default=0,
            )
            if cut <= pos:
                cut = min((z_lo for z_lo, _ in zones if target < z_lo <= reach), default=0)
            if cut <= pos:
                if end <= reach:  # no pause, but the rest fits one window
                    windows += _stretch(pos, end, length, context)
                    break
                # no pause within reach: overlapping windows up to the next pause (or the end)
                cut = min((z_lo for z_lo, _ in zones if z_lo > reach), default=end)
                windows += _stretch(pos, cut, length, context)
            else:
                windows.append(Window(pos, cut - pos, pos, cut))
            pos = cut
    return windows
