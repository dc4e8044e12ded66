"""Upkeep of the work units' Delta tables (delta.py): damaged data files found and taken out of
their table, lakes written before the Delta tables brought over, and old files swept away.

A damaged file (a disk fault) would make every query of its table fail, for every day: its day
is taken out in one commit (the other days keep answering) and the file is moved aside under
`lake/_damaged/`, kept, until the day is materialized again (`make run DAY=…`), as lake.py does
for the other tables.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.warehouse.delta import (
    DELTA_TABLES,
    LAKE_FOLDER,
    VACUUM_RETENTION_HOURS,
    DeltaLocation,
    day_of,
    days_of,
    on_storage,
    remove_days,
    replace_tracks,
    vacuum,
)
from emotion_assets.warehouse.lake import FILE_NAME, Damage, parquet_problem

if TYPE_CHECKING:
    from emotion_assets.storage import Storage

log = logging.getLogger(__name__)

DAMAGED_FOLDER = "_damaged"  # lake/_damaged/<table>/<file>: kept, outside every table
VERIFIED_FILES = "_verified_delta.json"  # in the scratch lake: data files already read back
# housekeeping/<table>.json on the storage root (beside lake/, which holds only tables): when
# the table's folder was last swept whole.
HOUSEKEEPING_FOLDER = "housekeeping"


def _last_full_sweep(storage: Storage, key: str) -> dt.datetime | None:
    if not storage.exists(key):
        return None
    try:
        return dt.datetime.fromisoformat(json.loads(storage.get_bytes(key))["full_vacuum_at"])
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: sweep whole, and write it again


def sweep(
    storage: Storage, where: DeltaLocation, table: str, now: dt.datetime | None = None
) -> list[str]:
    """After a publication: remove the files of replaced rows (named by the log: cheap), and
    once a day also the files of killed writers, which only a listing of the table's whole
    folder finds (delta.vacuum's `full`): a listing per run would grow with the table's age."""
    now = now or dt.datetime.now(dt.UTC)
    key = f"{HOUSEKEEPING_FOLDER}/{table}.json"
    last = _last_full_sweep(storage, key)
    full = last is None or now - last >= dt.timedelta(hours=VACUUM_RETENTION_HOURS)
    removed = vacuum(where, full=full)
    if full:
        storage.put_bytes(key, json.dumps({"full_vacuum_at": now.isoformat()}).encode())
    return removed


def _load_verified(cache: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads(cache.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def check_tables(storage: Storage, scratch_lake: Path) -> list[Damage]:
    """Read back every data file of the Delta tables not read back before; take a damaged
    file's day out of its table (one commit naming no file of that day: the views keep
    answering for every other day) and move the file aside under lake/_damaged/.

    A file is read once while its size and version (mtime, ETag) stay (cached in the scratch
    lake): Delta never rewrites a file, so a change there is damage.
    """
    from deltalake import DeltaTable

    cache = Path(scratch_lake) / VERIFIED_FILES
    verified = _load_verified(cache)
    damages: list[Damage] = []
    for table in DELTA_TABLES:
        where = on_storage(storage, table)
        if not where.exists():
            continue
        delta_table = DeltaTable(where.uri, storage_options=where.options)
        actions = pa.table(delta_table.get_add_actions(flatten=True))
        named = set(actions.column("path").to_pylist()) if actions.num_rows else set()
        prefix = f"{LAKE_FOLDER}/{table}/"
        # Each file's size and version (mtime, ETag): a disk fault changes them.
        stored = {
            k[len(prefix) :]: f"{i.size}:{i.version}" for k, i in storage.list(prefix).items()
        }
        files = {rel: stored.get(rel, "missing") for rel in named}
        done = {rel: v for rel, v in verified.get(table, {}).items() if files.get(rel) == v}
        bad: list[tuple[str, str]] = []
        for rel in sorted(set(files) - set(done)):
            problem = _file_problem(storage, prefix + rel, scratch_lake)
            if problem is None:
                done[rel] = files[rel]
            else:
                bad.append((rel, problem))
        if bad:
            remove_days(where, {day_of(rel) for rel, _ in bad})
            for rel, problem in bad:
                key = f"{LAKE_FOLDER}/{table}/{rel}"
                aside = _move_aside(storage, key, f"{LAKE_FOLDER}/{DAMAGED_FOLDER}/{table}/{rel}")
                damage = Damage(table, day_of(rel), Path(storage.uri(key)), problem, aside)
                log.error("lake: %s", damage.sentence())
                damages.append(damage)
        verified[table] = done
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(cache, json.dumps(verified, indent=0))
    return damages


def _file_problem(storage: Storage, key: str, scratch_lake: Path) -> str | None:
    if storage.is_local:
        return parquet_problem(Path(storage.uri(key)))
    copy = Path(scratch_lake) / ".check" / key.rsplit("/", 1)[-1]
    copy.parent.mkdir(parents=True, exist_ok=True)
    try:
        copy.write_bytes(storage.get_bytes(key))
        return parquet_problem(copy)
    except FileNotFoundError:
        return None  # vacuumed meanwhile: no version names it any more
    finally:
        copy.unlink(missing_ok=True)


def _move_aside(storage: Storage, key: str, aside: str) -> Path | None:
    try:
        if storage.is_local:
            target = Path(storage.uri(aside))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(storage.uri(key), target)
        else:  # S3 has no rename: a copy; vacuum removes the original later
            storage.put_bytes(aside, storage.get_bytes(key))
    except FileNotFoundError:
        return None
    return Path(storage.uri(aside))


def damaged_waiting(storage: Storage) -> list[tuple[str, str, str]]:
    """(table, day, where it lies) of each file moved aside whose day the table has not been
    given again since (`emotion-assets sql --check`)."""
    waiting = []
    for table in DELTA_TABLES:
        prefix = f"{LAKE_FOLDER}/{DAMAGED_FOLDER}/{table}/"
        keys = sorted(storage.list(prefix))
        present = days_of(on_storage(storage, table)) if keys else set()
        for key in keys:
            day = day_of(key[len(prefix) :])
            if day not in present:
                waiting.append((table, day, storage.uri(key)))
    return waiting


ADOPTED_SUFFIX = ".in-delta"  # a day file whose rows the Delta table holds now (kept, unread)


def adopt_day_files(storage: Storage, table: str) -> list[str]:
    """Move the rows of `table`'s old one-file-per-day partitions (lake.py's layout, written
    before the table became a Delta table) into the Delta table, a day per commit, unless the
    table already has that day; each old file is then renamed `data.parquet.in-delta` (kept).
    Returns the days adopted. Nothing to do, and one listing, once a lake is converted."""
    prefix = f"{LAKE_FOLDER}/{table}/"
    old = sorted(k for k in storage.list(prefix) if k.endswith(f"/{FILE_NAME}"))
    if not old:
        return []
    where = on_storage(storage, table)
    present = days_of(where)
    adopted = []
    for key in old:
        day = day_of(key[len(prefix) :])
        if day not in present:
            data = storage.get_bytes(key)
            replace_tracks(where, table, day, lambda data=data: [pl.read_parquet(data)], None)
            adopted.append(day)
        _rename(storage, key, key + ADOPTED_SUFFIX)
    log.info("delta: %s: %d old day file(s) adopted (%s)", table, len(adopted), adopted)
    return adopted


def _rename(storage: Storage, key: str, target: str) -> None:
    if storage.is_local:
        os.rename(storage.uri(key), storage.uri(target))
    else:  # S3 has no rename
        storage.put_bytes(target, storage.get_bytes(key))
        storage.delete(key)
