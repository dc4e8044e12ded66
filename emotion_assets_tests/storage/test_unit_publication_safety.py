"""A day's work units published to the lake's Delta tables (warehouse/delta.py), on a local root
and on the real S3 server: a writer SIGKILLed mid-publication leaves the previous version whole
and the other units' files untouched; an analyst querying in a loop in another process while the
day's units are republished sees no error, never a mix of two versions of a unit, nothing lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta, ensure_views
from emotion_assets.warehouse.remote import ensure_remote_views
from emotion_assets_tests.storage.unit_frames import TABLE, track_frames

DAY = "2024-05-06"
# Two work units of one day: (recording id, track, frames).
UNITS = {
    "A": [("rec-a", 0, 3_000), ("rec-a", 1, 2_000)],
    "B": [("rec-b", 0, 4_000)],
}
EXPECTED_ROWS = {(rid, track): n for unit in UNITS.values() for rid, track, n in unit}
READ_SECONDS = 8


def _publish(where: delta.DeltaLocation, unit: str, generation: int) -> None:
    tracks = UNITS[unit]
    delta.replace_tracks(
        where,
        TABLE,
        DAY,
        lambda: [track_frames(DAY, rid, track, n, generation) for rid, track, n in tracks],
        [(rid, track) for rid, track, _ in tracks],
    )


def _generations(where: delta.DeltaLocation) -> dict[tuple[str, int], set[float]]:
    df = delta.read_days(where, TABLE, [DAY])
    assert df is not None
    rows = df.group_by("recording_id", "track").agg(pl.col("angry").unique(), pl.len())
    found = {(r, t): n for r, t, _, n in rows.iter_rows()}
    assert found == EXPECTED_ROWS, "rows were lost or duplicated"
    return {(r, t): set(v) for r, t, v, _ in rows.iter_rows()}


def _env(storage: Storage) -> dict[str, str]:
    settings = storage.settings
    env = {**os.environ, "EMOTION_STORAGE_URL": settings.storage_url}
    if settings.aws_endpoint_url:
        env |= {
            "AWS_ENDPOINT_URL": settings.aws_endpoint_url,
            "AWS_ACCESS_KEY_ID": settings.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": settings.aws_secret_access_key.get_secret_value(),
            "AWS_REGION": settings.aws_region,
        }
    return env


def _names(uris: list[str]) -> set[str]:
    return {uri.rsplit("/", 1)[-1] for uri in uris}


def _files(where: delta.DeltaLocation) -> set[str]:
    from deltalake import DeltaTable

    return _names(DeltaTable(where.uri, storage_options=where.options).file_uris())


def _stored_files(storage: Storage) -> set[str]:
    """Every data file under the table's day folder, named by a version or not."""
    keys = storage.list(f"lake/{TABLE}/recording_date={DAY}")
    return {key.rsplit("/", 1)[-1] for key in keys if key.endswith(".parquet")}


def test_a_writer_killed_mid_publication_leaves_the_day_whole(any_storage: Storage) -> None:
    where = delta.on_storage(any_storage, TABLE)
    _publish(where, "A", 1)
    files_a = _files(where)
    _publish(where, "B", 1)
    files_b = _files(where) - files_a
    assert files_b, "unit B's commit added its own file"

    writer = subprocess.Popen(
        [sys.executable, "-m", "emotion_assets_tests.storage.publication_peer", "write", DAY, "2"]
        + [f"{rid}:{track}:20000" for rid, track, _ in UNITS["A"]],
        env=_env(any_storage),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in writer.stdout:  # several chunks streamed into the new files, then SIGKILL
            if line.startswith("chunk 30"):
                break
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    # It was killed mid-publication: data files written, the commit never made.
    assert _stored_files(any_storage) - _files(where), "the writer wrote no file before the kill"

    # The previous version is whole: every track, every row, generation 1 only.
    assert set(map(frozenset, _generations(where).values())) == {frozenset({1.0})}

    _publish(where, "A", 3)  # the unit again, after the kill: the next commit succeeds
    generations = _generations(where)
    assert generations[("rec-a", 0)] == generations[("rec-a", 1)] == {3.0}
    assert generations[("rec-b", 0)] == {1.0}
    assert files_b <= _files(where), "republishing unit A rewrote unit B's file"

    # Housekeeping removes what no version names (the killed writer's files, A's old ones).
    delta.vacuum(where, retention_hours=0)
    assert _stored_files(any_storage) == _files(where)
    assert _generations(where)[("rec-b", 0)] == {1.0}


def test_an_analyst_never_sees_an_error_a_mix_or_a_loss(
    any_storage: Storage, tmp_path: Path
) -> None:
    where = delta.on_storage(any_storage, TABLE)
    for unit in UNITS:
        _publish(where, unit, 1)
    warehouse = tmp_path / "warehouse.duckdb"
    if any_storage.is_local:
        ensure_views(any_storage.local_root / "lake", warehouse, written={TABLE: []})
    else:
        ensure_remote_views(any_storage, any_storage.settings, warehouse, written={TABLE: []})

    out = tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-m", "emotion_assets_tests.storage.publication_peer", "read"]
        + [str(warehouse), str(READ_SECONDS), str(out)],
        env=_env(any_storage),
    )
    generation, published = 1, 0
    deadline = time.monotonic() + READ_SECONDS + 2
    while reader.poll() is None and time.monotonic() < deadline + 60:
        generation += 1
        _publish(where, "AB"[generation % 2], generation)  # the day's units in turn
        published += 1
    assert reader.wait(timeout=120) == 0
    result = json.loads(out.read_text())
    answers, errors = result["answers"], result["errors"]

    assert errors == [], (
        f"{len(errors)} of {len(answers) + len(errors)} queries failed: {errors[:1]}"
    )
    assert published >= 5 and len(answers) >= 5, (published, len(answers))
    for answer in answers:
        tracks = {(rid, track): (n, lo, hi) for rid, track, n, lo, hi in answer}
        assert {key: n for key, (n, _, _) in tracks.items()} == EXPECTED_ROWS  # nothing lost
        assert all(lo == hi for _, lo, hi in tracks.values()), "a track mixed two versions"
        unit_a = {tracks[(rid, track)][1] for rid, track, _ in UNITS["A"]}
        assert len(unit_a) == 1, "unit A's tracks came from two versions"
    # Readers saw more than one version: the loop really ran during the republication.
    assert len({tuple(map(tuple, a)) for a in answers}) > 1
