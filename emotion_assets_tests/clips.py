"""Many distinct short recordings made from one real speech file (tests of busy days)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def distinct_clips(speech: np.ndarray, rate: int, folder: Path, count: int) -> list[Path]:
    """`count` distinct 2 s recordings cut from one speech file at other offsets and gains
    (other bytes: other recording ids)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        start = (i * rate // 3) % max(1, len(speech) - 2 * rate)
        path = folder / f"call_{i:02d}.wav"
        sf.write(path, speech[start : start + 2 * rate] * (0.5 + 0.02 * i), rate)
        paths.append(path)
    return paths
