"""The other process of the publication safety tests: an analyst querying in a loop, or a
writer that gets killed mid-publication. Settings come from the environment (EMOTION_*, AWS_*),
as they do for a real worker or analyst.

python -m emotion_assets_tests.storage.publication_peer read WAREHOUSE SECONDS OUT_JSON
python -m emotion_assets_tests.storage.publication_peer write DAY GENERATION TRACKS...
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta
from emotion_assets.warehouse.views import connect_readonly
from emotion_assets_tests.storage.unit_frames import TABLE, track_frames

QUERY = (
    f"SELECT recording_id, track, count(*) AS n, min(angry) AS lo, max(angry) AS hi "
    f"FROM {TABLE} GROUP BY ALL ORDER BY ALL"
)


def read_loop(warehouse: Path, seconds: float, out: Path) -> None:
    """Query the view until `seconds` pass; write every answer and every error to `out`."""
    settings = load_group(StorageSettings)
    answers, errors = [], []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:  # a fresh connection each time: the coldest read an analyst can make
            con = connect_readonly(warehouse, settings)
            try:
                answers.append(con.execute(QUERY).fetchall())
            finally:
                con.close()
        except duckdb.Error as exc:
            errors.append(" ".join(str(exc).split())[:300])
    out.write_text(json.dumps({"answers": answers, "errors": errors}))


def write_slowly(day: str, generation: int, tracks: list[str]) -> None:
    """Publish `tracks` ("rid:track:rows") at `generation`, one slow chunk at a time."""
    where = delta.on_storage(Storage.from_settings(load_group(StorageSettings)), TABLE)
    pairs = [(rid, int(track), int(rows)) for rid, track, rows in (t.split(":") for t in tracks)]

    def rows() -> Iterator:
        for chunk in range(1_000):  # far more than the parent waits for: it kills us first
            for rid, track, n in pairs:
                yield track_frames(day, rid, track, n, generation, first_frame=chunk * n)
            print("chunk", chunk, flush=True)
            time.sleep(0.05)

    # Small data files: several are complete on the root before the kill, none committed.
    tracks_of_unit = [(rid, track) for rid, track, _ in pairs]
    delta.replace_tracks(where, TABLE, day, rows, tracks_of_unit, target_file_size=256_000)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "read":
        read_loop(Path(args[0]), float(args[1]), Path(args[2]))
    else:
        write_slowly(args[0], int(args[1]), args[2:])
