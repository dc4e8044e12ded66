"""The lake on a storage root that is not the local scratch folder (s3://bucket/prefix).

Same layout and file names as the local lake (lake.py). A partition is written and read back
in the scratch lake first (lake.write_partitions), then published as one whole object: S3 has
no atomic rename, but one PUT is atomic, so a reader sees the previous partition or the new
one, and a writer killed before its PUT completes leaves the previous object in place.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.storage import Storage
from emotion_assets.storage.mirror import md5_of
from emotion_assets.warehouse.delta import DELTA_TABLES
from emotion_assets.warehouse.delta_upkeep import check_tables
from emotion_assets.warehouse.lake import (
    DAMAGED_SUFFIX,
    DELTA_LOG,
    FILE_NAME,
    Damage,
    DamagedPartitionError,
    parquet_problem,
)
from emotion_assets.warehouse.search import SOURCE_TABLE as SEARCHED_TABLE
from emotion_assets.warehouse.search import STATE_FILE as SEARCH_STATE_FILE
from emotion_assets.warehouse.search import build_search_index, refresh_index
from emotion_assets.warehouse.views import _publish, prepare_s3, view_sql

if TYPE_CHECKING:
    from emotion_assets.settings import StorageSettings

log = logging.getLogger(__name__)

LAKE = "lake"
REMOTE_STATE_FILE = ".remote_views.json"  # in the scratch lake: the views last published


def partition_key(table: str, day: str) -> str:
    return f"{LAKE}/{table}/recording_date={day}/{FILE_NAME}"


def publish_partitions(storage: Storage, layout: DataLayout, paths: Iterable[Path]) -> list[str]:
    """Put each verified scratch partition file under the same key of the root; return the keys.

    The scratch file was read back before it was published, and a single PUT's ETag is the MD5
    of its body: that ETag is recorded as verified, so the damage check does not download the
    object again (an object changed by anyone else has another ETag and is read).
    """
    keys, verified = [], {}
    for path in paths:
        key = layout.relative(path)
        storage.put_file(key, path)
        verified[key] = md5_of(path)
        log.info("lake: published %s to %s", key, storage.uri(key))
        keys.append(key)
    cache = _verified_cache(layout.root)
    write_bytes_atomically(cache, json.dumps({**_load_verified(cache), **verified}, indent=0))
    return keys


def _verified_cache(scratch: Path) -> Path:
    return Path(scratch) / LAKE / ".remote_verified.json"


def _load_verified(cache: Path) -> dict[str, str]:
    try:
        return json.loads(cache.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def read_remote_partitions(
    storage: Storage, table: str, days: Iterable[str]
) -> pl.DataFrame | None:
    """Rows of the given days from the root, or None when none of them was ever written."""
    frames = []
    for day in sorted(set(days)):
        key = partition_key(table, day)
        try:
            data = storage.get_bytes(key)
        except FileNotFoundError:
            continue
        try:
            frames.append(pl.read_parquet(io.BytesIO(data)))
        except Exception as exc:  # noqa: BLE001 - reader errors come in many types
            problem = " ".join(str(exc).split())[:200]
            damage = Damage(table, day, Path(storage.uri(key)), problem, None)
            raise DamagedPartitionError(damage.sentence()) from exc
    if not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed")


def list_remote_tables(storage: Storage) -> dict[str, dict[str, str]]:
    """{table: {day: version}} of every partition file under lake/ on the root."""
    tables: dict[str, dict[str, str]] = {}
    for key, info in storage.list(LAKE).items():
        parts = key.split("/")
        if len(parts) == 4 and parts[3] == FILE_NAME and parts[2].startswith("recording_date="):
            tables.setdefault(parts[1], {})[parts[2].split("=", 1)[1]] = info.version
    return tables


def remote_delta_tables(storage: Storage) -> set[str]:
    """The work units' tables that exist as Delta tables on the root (warehouse/delta.py)."""
    return {t for t in DELTA_TABLES if storage.list(f"{LAKE}/{t}/{DELTA_LOG}")}


def _refresh_remote_search_index(
    storage: Storage, settings: StorageSettings, warehouse: Path, days: dict[str, str]
) -> None:
    """The full-text index (warehouse/search.py) of the S3 lake, in the local warehouse's folder:
    rebuilt when a segment_emotions object's ETag changed. A failed build must not stop the
    views: searches keep the previous index, and the error says so."""
    try:
        refresh_index(
            lambda: sorted([day, version] for day, version in days.items()),
            Path(warehouse).parent / LAKE / SEARCH_STATE_FILE,
            warehouse,
            lambda target: build_search_index(
                storage.uri(LAKE), target, prepare=lambda con: prepare_s3(con, settings)
            ),
        )
    except Exception as exc:  # noqa: BLE001 - any DuckDB/extension/network error
        log.error(
            "warehouse: the full-text index of %s on %s could not be rebuilt (%s); searches "
            "answer from the previous index until the next refresh",
            SEARCHED_TABLE,
            storage.uri(LAKE),
            " ".join(str(exc).split())[:200],
        )


def check_remote_lake(storage: Storage, scratch: Path) -> list[Damage]:
    """Read back every partition not verified yet (by ETag); move damaged ones aside.

    S3 has no rename: a damaged object is copied to `data.parquet.damaged-<time>` and then
    deleted, unless its ETag changed meanwhile (a writer replaced it). The verified ETags are
    cached in the scratch folder, so a repeated check costs one listing.
    """
    import datetime as dt

    cache = _verified_cache(scratch)
    verified = _load_verified(cache)
    damages = []
    for table, days in sorted(list_remote_tables(storage).items()):
        for day, version in sorted(days.items()):
            key = partition_key(table, day)
            if verified.get(key) == version:
                continue
            tmp = Path(scratch) / LAKE / f".check-{table}-{day}.parquet"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            try:
                tmp.write_bytes(storage.get_bytes(key))
                problem = parquet_problem(tmp)
            except FileNotFoundError:
                continue
            finally:
                tmp.unlink(missing_ok=True)
            if problem is None:
                verified[key] = version
                continue
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            aside = f"{key}{DAMAGED_SUFFIX}{stamp}"
            moved = None
            now = storage.info(key)
            if now is not None and now.version == version:
                storage.put_bytes(aside, storage.get_bytes(key))
                storage.delete(key)
                moved = Path(storage.uri(aside))
            verified.pop(key, None)
            damage = Damage(table, day, Path(storage.uri(key)), problem, moved)
            log.error("lake: %s", damage.sentence())
            damages.append(damage)
    write_bytes_atomically(cache, json.dumps(verified, indent=0))
    return damages


def ensure_remote_views(
    storage: Storage,
    settings: StorageSettings,
    warehouse: Path,
    *,
    written: dict[str, Sequence[Path]] | None = None,
    damages: list[Damage] | None = None,
) -> list[str]:
    """The local warehouse file's views over the lake on S3 (httpfs); return tables refreshed.

    Same contract as views.ensure_views: damaged partitions are moved aside first, a changed
    view set is published as a new file swapped in atomically, builders take the lock file.
    `written`: {table: scratch files just published} (their schema sizes the embedding array).
    """
    scratch = Path(warehouse).parent
    found = check_remote_lake(storage, scratch) + check_tables(storage, scratch / LAKE)
    if damages is not None:
        damages.extend(found)
    lake_uri = storage.uri(LAKE)
    listed = list_remote_tables(storage)
    tables = sorted(set(listed) | remote_delta_tables(storage))
    if written is None or SEARCHED_TABLE in written:
        _refresh_remote_search_index(storage, settings, warehouse, listed.get(SEARCHED_TABLE, {}))
    state_path = scratch / LAKE / REMOTE_STATE_FILE
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(warehouse.with_name(warehouse.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                state = json.loads(state_path.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                state = {}
            if state.get("__warehouse__") != str(warehouse.resolve()) or not warehouse.exists():
                state = {}
            probe = duckdb.connect()
            try:
                prepare_s3(probe, settings)
                views = {}
                for table in tables:
                    if written is not None and table not in written and table in state:
                        views[table] = state[table]
                    else:
                        files = (written or {}).get(table, ())
                        views[table] = view_sql(lake_uri, table, files, probe=probe)
            finally:
                probe.close()
            changed = sorted(t for t in views if state.get(t) != views[t])
            if not changed and set(state) - {"__warehouse__"} == set(views):
                return []
            _publish(warehouse, views, prepare=lambda con: prepare_s3(con, settings))
            new = {**views, "__warehouse__": str(warehouse.resolve())}
            write_bytes_atomically(state_path, json.dumps(new, indent=1, sort_keys=True))
            log.info("warehouse: refreshed views %s over %s in %s", changed, lake_uri, warehouse)
            return changed
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
