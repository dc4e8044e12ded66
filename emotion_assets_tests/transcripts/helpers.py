"""A day folder with recordings and transcript sidecars, and the ingest tables transcripts need.

The recordings are the shared ones (EMOTION_SHARED_AUDIO); their raw/normalized/turn rows are
built from their real durations and RTTM, without decoding (the transcript stage only needs
durations, tracks and turns).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import polars as pl
import soundfile as sf

from emotion_assets.audio.sidecars import read_rttm
from emotion_assets.contracts import CONTRACT_SCHEMAS
from emotion_assets.foundation.labels import SAMPLE_RATE
from emotion_assets.foundation.layout import DataLayout

DAY = "2024-06-03"
DATA = Path(__file__).resolve().parent / "data"


def rid_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def make_day(
    root: Path,
    recordings: dict[str, Path | float],
    sidecars: dict[str, bytes | str | Path],
    *,
    channels: dict[str, dict[int, str]] | None = None,
) -> tuple[DataLayout, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Write raw/<DAY>/; recordings: name -> shared file (copied) or a duration (a stub file)."""
    layout = DataLayout(root)
    day_dir = layout.raw_day(DAY)
    day_dir.mkdir(parents=True, exist_ok=True)
    raw, norm, turns = [], [], []
    for name, source in recordings.items():
        rid = rid_of(name)
        if isinstance(source, Path):
            shutil.copyfile(source, day_dir / name)
            duration = sf.info(str(source)).duration
        else:
            (day_dir / name).write_bytes(b"stub")
            duration = float(source)
        chans = (channels or {}).get(name, {})
        raw.append({"recording_id": rid, "file_name": name, "status": "ok"})
        for track in sorted(chans) or [0]:
            norm.append(
                {
                    "recording_id": rid,
                    "track": track,
                    "channel_mode": "channel" if chans else "mono",
                    "speaker": chans.get(track),
                    "n_samples": round(duration * SAMPLE_RATE),
                    "duration_s": round(duration * SAMPLE_RATE) / SAMPLE_RATE,
                }
            )
            if chans:
                turns.append((rid, track, chans[track], 0.0, duration, "channel_map"))
        rttm = Path(source).with_suffix(".rttm") if isinstance(source, Path) else None
        if rttm is not None and rttm.is_file():
            for t in read_rttm(rttm)[0]:
                turns.append((rid, 0, t.speaker, t.t_start, min(t.t_end, duration), "rttm"))
    for name, content in sidecars.items():
        data = content.read_bytes() if isinstance(content, Path) else content
        target = day_dir / name
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    date = dt.date.fromisoformat(DAY)
    raw_df = pl.DataFrame(raw).with_columns(
        pl.lit(date).alias("recording_date"), pl.lit(None, dtype=pl.String).alias("duplicate_of")
    )
    norm_df = pl.DataFrame(norm).with_columns(
        pl.lit(date).alias("recording_date"), pl.col("track").cast(pl.Int32)
    )
    turn_schema = CONTRACT_SCHEMAS["speaker_turns"]
    turns_df = pl.DataFrame(
        [
            {
                "recording_date": date,
                "recording_id": r,
                "track": tr,
                "turn_idx": i,
                "speaker": s,
                "t_start": a,
                "t_end": b,
                "duration_s": b - a,
                "source": src,
            }
            for i, (r, tr, s, a, b, src) in enumerate(turns)
        ],
        schema=turn_schema,
    )
    return layout, raw_df, norm_df, turns_df


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
