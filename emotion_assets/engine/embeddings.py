"""emotion_embeddings rows and the optional frame-embedding .npy files, fed window by window.

The engine streams frame features out (EmotionEngine.score(on_features=...)), so a long track
never holds its T x D feature matrix (737 MB for an hour on the large model): SegmentPooler keeps
one running sum per speech segment and FrameEmbeddingWriter writes rows straight into a
memory-mapped .npy that is renamed into place only when complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from emotion_assets.engine.tables import frame_centres, frame_speakers, segment_bounds
from emotion_assets.foundation.atomic_files import atomic_path


class SegmentPooler:
    """Mean frame feature of each speech segment (frames attributed by their centre)."""

    def __init__(
        self,
        n_frames: int,
        dim: int,
        segments: pl.DataFrame | Sequence[tuple[float, float]],
        turns: Sequence[tuple[str, float, float]] = (),
    ) -> None:
        self.dim = dim
        centres = frame_centres(n_frames)
        bounds = segment_bounds(segments)
        if isinstance(segments, pl.DataFrame) and "segment_idx" in segments.columns:
            seg_idx = segments["segment_idx"].to_list()
        else:
            seg_idx = list(range(len(bounds)))
        speakers, _ = frame_speakers(n_frames, turns)
        # (segment_idx, t_start, t_end, speaker, first frame, end frame) of non-empty segments
        self.segments: list[tuple[int, float, float, str | None, int, int]] = []
        for idx, (start, end) in zip(seg_idx, bounds, strict=True):
            lo, hi = (int(v) for v in np.searchsorted(centres, [start, end], side="left"))
            if hi > lo:
                names = [s for s in speakers[lo:hi] if s is not None]
                top = max(set(names), key=names.count) if names else None
                majority = top if top is not None and 2 * names.count(top) > hi - lo else None
                self.segments.append((idx, float(start), float(end), majority, lo, hi))
        self._sums = np.zeros((len(self.segments), dim), dtype=np.float64)
        self._starts = np.array([s[4] for s in self.segments], dtype=np.int64)
        self._ends = np.array([s[5] for s in self.segments], dtype=np.int64)

    def add(self, first_frame: int, block: np.ndarray) -> None:
        """Add features of frames [first_frame, first_frame + len(block)) to their segments."""
        last = first_frame + len(block)
        hit = np.nonzero((self._starts < last) & (self._ends > first_frame))[0]
        for i in hit.tolist():
            lo = max(int(self._starts[i]), first_frame) - first_frame
            hi = min(int(self._ends[i]), last) - first_frame
            self._sums[i] += block[lo:hi].sum(axis=0, dtype=np.float64)

    def table(
        self, *, recording_id: str, recording_date: dt.date, track: int, model_id: str
    ) -> pl.DataFrame:
        n = len(self.segments)
        counts = (self._ends - self._starts).astype(np.float64)
        means = (self._sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        return pl.DataFrame(
            {
                "recording_date": pl.Series([recording_date] * n, dtype=pl.Date),
                "recording_id": pl.Series([recording_id] * n, dtype=pl.String),
                "track": pl.Series([track] * n, dtype=pl.Int32),
                "segment_idx": pl.Series([s[0] for s in self.segments], dtype=pl.Int32),
                "speaker": pl.Series([s[3] for s in self.segments], dtype=pl.String),
                "t_start": pl.Series([s[1] for s in self.segments], dtype=pl.Float64),
                "t_end": pl.Series([s[2] for s in self.segments], dtype=pl.Float64),
                "embedding": pl.Series(means, dtype=pl.Array(pl.Float32, self.dim)),
                "model_id": pl.Series([model_id] * n, dtype=pl.String),
            }
        )


def embedding_table(
    features: np.ndarray,
    *,
    segments: pl.DataFrame | Sequence[tuple[float, float]],
    recording_id: str,
    recording_date: dt.date,
    track: int,
    model_id: str,
    turns: Sequence[tuple[str, float, float]] = (),
) -> pl.DataFrame:
    """emotion_embeddings from a whole (T, D) feature matrix already in memory."""
    features = np.asarray(features, dtype=np.float32)
    dim = int(features.shape[1]) if features.ndim == 2 else 0
    pooler = SegmentPooler(features.shape[0], dim, segments, turns)
    pooler.add(0, features)
    return pooler.table(
        recording_id=recording_id, recording_date=recording_date, track=track, model_id=model_id
    )


class FrameEmbeddingWriter:
    """A (T, D) float32 .npy written block by block; appears at `path` only once complete.

    Use as a context manager: leaving the block normally renames the temporary file into place,
    an exception deletes it (a half-written file never replaces a good one).
    """

    def __init__(self, path: Path, n_frames: int, dim: int) -> None:
        self.path = Path(path)
        self._shape = (n_frames, dim)
        self._array: np.memmap | None = None
        self._atomic = atomic_path(self.path)  # the one atomic-write helper (atomic_files.py)

    def add(self, first_frame: int, block: np.ndarray) -> None:
        self._array[first_frame : first_frame + len(block)] = block

    def __enter__(self) -> FrameEmbeddingWriter:
        tmp = self._atomic.__enter__()
        self._array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=self._shape)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        array, self._array = self._array, None
        if array is not None:
            array.flush()
            del array  # unmap before the rename
        return self._atomic.__exit__(exc_type, exc, tb)


def save_frame_embeddings(path: Path, features: np.ndarray) -> Path:
    """Write a whole (T, D) float32 feature matrix as .npy atomically (temp file + rename)."""
    features = np.asarray(features, dtype=np.float32)
    with FrameEmbeddingWriter(path, *features.shape) as writer:
        writer.add(0, features)
    return Path(path)
