"""Frame rows of the contract's schema whose `angry` score says which publication wrote them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from emotion_assets.contracts import TABLE_SCHEMAS
from emotion_assets.foundation.labels import FRAME_HOP_S

TABLE = "frame_emotion_scores"


def track_frames(
    day: str, rid: str, track: int, n: int, generation: int, first_frame: int = 0
) -> pl.DataFrame:
    """`n` frames of one track; every score is `generation` (exact after the lake's rounding)."""
    idx = np.arange(first_frame, first_frame + n, dtype=np.int32)
    values: dict[str, object] = {}
    for name, dtype in TABLE_SCHEMAS[TABLE].items():
        if name == "recording_date":
            values[name] = [dt.date.fromisoformat(day)] * n
        elif name == "recording_id":
            values[name] = [rid] * n
        elif name == "track":
            values[name] = np.full(n, track, dtype=np.int32)
        elif name == "frame_idx":
            values[name] = idx
        elif name == "t_start":
            values[name] = idx * FRAME_HOP_S
        elif name == "t_end":
            values[name] = (idx + 1) * FRAME_HOP_S
        elif dtype == pl.Float32:
            values[name] = np.full(n, generation, dtype=np.float32)
        elif dtype == pl.Boolean:
            values[name] = np.ones(n, dtype=bool)
        else:
            values[name] = [f"{name}-{generation}"] * n
    return pl.DataFrame(values, schema=TABLE_SCHEMAS[TABLE])
