"""Publishing a run's scored tracks (pipeline/publish_scores.py), without Dagster: the tables
hold exactly the day's tracks, a deleted recording's rows and kept files go, and the other
tracks keep their files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from emotion_assets.engine.units import SCORED_TABLES, scored_key, track_fingerprints
from emotion_assets.pipeline.publish_scores import publish_scored_days
from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta
from emotion_assets_tests.quality.synthetic import DATE, synthetic_lake
from emotion_assets_tests.storage.unit_frames import track_frames

DAY = DATE.isoformat()
MODEL = {"model": "synthetic"}


def _publish(root: Storage, tmp: Path, lake: dict, rescored: set) -> delta.DeltaLocation:
    published = publish_scored_days(
        root,
        tmp,
        [DAY],
        lake["normalized_audio"],
        lake["speech_segments"],
        lake["speaker_turns"],
        MODEL,
        rescored,
    )
    assert published.tracks == lake["normalized_audio"].height
    return published.where["frame_emotion_scores"]


def _files(where: delta.DeltaLocation) -> dict[str, frozenset[str]]:
    """{data file: the recordings it holds} of the table's current version."""
    return {
        uri: frozenset(pl.read_parquet(uri, columns=["recording_id"])["recording_id"])
        for uri in DeltaTable(where.uri).file_uris()
    }


def _without(lake: dict, ids: set[str]) -> dict:
    return {
        name: df.filter(~pl.col("recording_id").is_in(list(ids)))
        if "recording_id" in df.columns
        else df
        for name, df in lake.items()
    }


def test_new_and_deleted_recordings_touch_only_their_files(tmp_path: Path) -> None:
    lake = synthetic_lake(durations_s=(2.0, 1.5, 2.5), segments_per_track=2, seed=5)
    root = Storage(str(tmp_path), local_root=tmp_path)
    tracks = track_fingerprints(
        DAY, lake["normalized_audio"], lake["speech_segments"], lake["speaker_turns"], MODEL
    )

    def score(generation: int) -> None:  # the track's rows as its scoring unit leaves them
        track = tracks[generation - 1]
        frames = track_frames(DAY, track.recording_id, track.track, 40, generation)
        embeddings = lake["emotion_embeddings"].filter(pl.col("recording_id") == track.recording_id)
        for table, rows in zip(SCORED_TABLES, (frames, embeddings), strict=True):
            path = tmp_path / track.key(table)
            path.parent.mkdir(parents=True, exist_ok=True)
            rows.write_parquet(path)

    first, second, late = (t.recording_id for t in tracks)
    scored = {t.recording_id: {(t.recording_id, t.track)} for t in tracks}

    # The day as it stood before the late file arrived.
    score(1), score(2)
    where = _publish(root, tmp_path, _without(lake, {late}), scored[first] | scored[second])
    before = _files(where)
    assert set().union(*before.values()) == {first, second}

    # The late file: its rows are added in files of their own; the others keep theirs.
    score(3)
    where = _publish(root, tmp_path, lake, scored[late])
    with_late = _files(where)
    assert before.items() <= with_late.items()
    new = [held for uri, held in with_late.items() if uri not in before]
    assert new and set().union(*new) == {late}
    full_day = delta.read_days(where, "frame_emotion_scores", [DAY])
    assert full_day is not None and set(full_day["recording_id"]) == {first, second, late}

    # The first recording deleted: its rows go, from both tables; nothing is scored; the late
    # file's data files stay, and the second recording's rows are the same rows as before.
    where = _publish(root, tmp_path, _without(lake, {first}), rescored=set())
    after = _files(where)
    assert all(after.get(uri) == held for uri, held in with_late.items() if first not in held)
    left = delta.read_days(where, "frame_emotion_scores", [DAY])
    assert left is not None
    assert left.equals(full_day.filter(pl.col("recording_id") != first))
    embeddings = delta.read_days(
        delta.on_storage(root, "emotion_embeddings"), "emotion_embeddings", [DAY]
    )
    assert embeddings is not None and set(embeddings["recording_id"]) == {second, late}
    kept_files = set(root.list(scored_key(DAY)))
    assert kept_files and not any(first in key for key in kept_files)
