"""Where the fixed-length windows go, and which frames each window contributes.

All positions are in frames (320 samples): a window starting at frame s reads samples
[320 s, 320 s + window_samples), so its frame j is global frame s + j. Windows overlap by
2 x context frames; every frame is kept from the window whose centre is nearest, which leaves
at least `context` frames of audio on both sides of every kept frame (except at the track ends).
"""

from __future__ import annotations

from dataclasses import dataclass

from emotion_assets.labels import FRAME_STRIDE, RECEPTIVE_FIELD, SAMPLE_RATE


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
