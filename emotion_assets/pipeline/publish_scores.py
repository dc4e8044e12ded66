"""Publishing a run's scored tracks: the model step's last part, without Dagster.

Each scoring unit left every track's rows as its own files under `scored/<day>/` on the storage
root (engine/units.py). For each day of the run, one Delta commit per table (warehouse/delta.py)
adds the tracks scored now (or missing from the table) and removes the tracks the day no longer
has; every other track keeps its files. Rows stream in one track at a time, so memory is one
track's, never the day's. Then the files nothing needs any more go: the kept files of deleted or
changed tracks, the frame embeddings of tracks the day lost, and the table files no version of
the last day names (`delta_upkeep.sweep`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from emotion_assets.engine.units import SCORED_TABLES, scored_key, stale_keys, track_fingerprints
from emotion_assets.foundation.work_units import filter_day
from emotion_assets.storage import Storage
from emotion_assets.storage.tracks import remove_other_tracks, track_stems
from emotion_assets.warehouse import delta, delta_upkeep


@dataclass
class PublishedScores:
    where: dict[str, delta.DeltaLocation]  # each scored table's Delta location
    tracks: int = 0  # tracks the run's days hold now (scored in this run or kept)
    versions: dict[str, int | None] = field(default_factory=dict)  # last commit (None: none)


def publish_scored_days(
    root: Storage,
    scratch: Path,
    days: Iterable[str],
    normalized_audio: pl.DataFrame,
    speech_segments: pl.DataFrame,
    speaker_turns: pl.DataFrame,
    model: dict[str, Any],
    rescored: set[tuple[str, int]],
) -> PublishedScores:
    """Publish each day of `days` into the scored tables. `rescored`: the (recording_id, track)
    pairs the run scored (their rows replace the table's); `model`: engine/units.model_key."""
    out = PublishedScores({table: delta.on_storage(root, table) for table in SCORED_TABLES})
    for table in SCORED_TABLES:  # a lake from before the Delta tables keeps its days
        delta_upkeep.adopt_day_files(root, table)
    for day in days:
        day_audio = filter_day(normalized_audio, day)
        tracks = track_fingerprints(
            day,
            day_audio,
            filter_day(speech_segments, day),
            filter_day(speaker_turns, day),
            model,
        )
        out.tracks += len(tracks)
        by_id = {(t.recording_id, t.track): t for t in tracks}
        for table in SCORED_TABLES:
            where = out.where[table]
            present = delta.tracks_of_day(where, table, day)
            change = delta.plan_day(present, by_id, rescored, day)

            def read_track(tid, table=table, by_id=by_id) -> pl.DataFrame:
                return pl.read_parquet(root.local_copy(by_id[tid].key(table), scratch))

            out.versions[table] = delta.publish_day(where, table, change, read_track)
        # Files of deleted or changed tracks go once the tables no longer need them.
        for key in stale_keys(day, tracks, root.list(scored_key(day))):
            root.delete(key)
            (scratch / key).unlink(missing_ok=True)
        # Frame embeddings of tracks the day no longer has (deleted or replaced) go.
        remove_other_tracks(root, f"embeddings/{day}", scratch, track_stems(day_audio))
    for table in SCORED_TABLES:  # files replaced a day ago; once a day, killed writers' files
        delta_upkeep.sweep(root, out.where[table], table)
    return out
