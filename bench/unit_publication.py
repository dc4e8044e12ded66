"""How a day made of work units is published: a folder of Parquet files versus Delta Lake, Iceberg
and DuckLake (issue 27, item 5).

The method of bench/lake_format.py (its servers, its synthetic frames, its DuckLake), applied to a
day split into work units, each published by its own step: every way writes the same day as N
units, republishes one, serves a cold reader the whole day and one recording, and is checked for
safety. (a) A reader in another process loops over the day while units are republished: it must
never see one unit's old and new rows together, nor a unit half there, nor an error. (b) A
writer SIGKILLed mid-publish must leave the unit's previous version whole, and the next publish
must succeed. Two writers publishing two units of the same day at once are counted as well.

    python -m bench.unit_publication [--hours 2] [--units 8] [--out bench/results]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from bench.lake_format import (
    BUCKET,
    FIRST_DAY,
    FRAMES_PER_HOUR,
    RECORDING_FRAMES,
    DuckLake,
    _s3fs,
    _storage,
    _timed,
    day_frames,
)
from bench.machine import describe
from bench.report import write_results
from devstack.servers import PostgresServer, S3Server, postgres_server, s3_server
from emotion_assets.foundation.atomic_files import write_atomically
from emotion_assets.warehouse.extensions import create_s3_secret, load_offline
from emotion_assets.warehouse.views import prepare_s3

TABLE = "frame_emotion_scores"
DAY = FIRST_DAY
KILL_FRACTIONS = (0.2, 0.5, 0.8)  # of a measured republish: when the writer is SIGKILLed


# --- the day, as units -----------------------------------------------------------------------
def unit_frames(hours: float, units: int, version: int) -> list[pl.DataFrame]:
    """The synthetic day of bench/lake_format.py, its recordings dealt into `units` units; each
    row carries its unit and the `version` that published it (what a reader checks)."""
    frame = day_frames(DAY, hours, seed=version)
    recordings = -(-frame.height // RECORDING_FRAMES)
    if recordings < units:
        raise ValueError(f"{hours} audio hours make {recordings} recordings, fewer than {units}.")
    frame = frame.with_columns(
        unit=((pl.int_range(pl.len()) // RECORDING_FRAMES) % units).cast(pl.Int32),
        version=pl.lit(version, pl.Int32),
    )
    return [frame.filter(pl.col("unit") == u) for u in range(units)]


def _connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={"autoinstall_known_extensions": False})


def _local_files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
    }


# --- the ways --------------------------------------------------------------------------------
class _Way:
    name = ""
    args: dict[str, Any]

    def publish(self, frame: pl.DataFrame, unit: int) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """What a fresh process does once before its first publish (imports, catalog)."""

    def reader(self) -> duckdb.DuckDBPyConnection:
        return _connect()

    def table(self, con: duckdb.DuckDBPyConnection) -> str:
        """What a query reads, as of now (the day's current version)."""
        raise NotImplementedError

    def files(self) -> dict[str, tuple[Any, ...]]:
        """Every object the way keeps (data and metadata) with what changes when it is rewritten."""
        return _local_files(Path(self.args["root"]))


class FolderLocal(_Way):
    """One Parquet file per (table, day, unit), replaced by an atomic rename; readers glob."""

    name = "folder of Parquet, local disk"

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.day_dir = Path(args["root"]) / TABLE / f"recording_date={DAY}"

    def publish(self, frame: pl.DataFrame, unit: int) -> None:
        write_atomically(
            self.day_dir / f"unit-{unit:04d}.parquet",
            lambda tmp: frame.drop("recording_date").write_parquet(tmp, statistics=True),
        )

    def table(self, con: duckdb.DuckDBPyConnection) -> str:
        glob = Path(self.args["root"]) / TABLE / "*" / "unit-*.parquet"
        return f"read_parquet('{glob}', hive_partitioning = true)"


class FolderS3(_Way):
    """The same layout on S3: one object per unit, replaced by a single PUT."""

    name = "folder of Parquet, S3 (one PUT per unit)"

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.s3 = S3Server(**args["s3"])
        self.fs = _s3fs(self.s3)
        self.prefix = f"{BUCKET}/{Path(args['root']).name}/{TABLE}"

    def publish(self, frame: pl.DataFrame, unit: int) -> None:
        with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
            frame.drop("recording_date").write_parquet(tmp.name, statistics=True)
            self.fs.put_file(
                tmp.name, f"{self.prefix}/recording_date={DAY}/unit-{unit:04d}.parquet"
            )

    def reader(self) -> duckdb.DuckDBPyConnection:
        con = _connect()
        prepare_s3(con, _storage(self.s3))  # as the product's readers: one GET per object
        return con

    def table(self, con: duckdb.DuckDBPyConnection) -> str:
        return f"read_parquet('s3://{self.prefix}/*/unit-*.parquet', hive_partitioning = true)"

    def files(self) -> dict[str, tuple[Any, ...]]:
        self.fs.invalidate_cache()
        found = self.fs.find(self.prefix, detail=True) if self.fs.exists(self.prefix) else {}
        return {path: (info["size"], info.get("ETag")) for path, info in found.items()}


class Delta(_Way):
    """Delta Lake (deltalake, local disk) partitioned by day and unit; a unit is replaced by a
    predicate overwrite (replaceWhere) in one commit; readers use DuckDB's delta_scan."""

    name = "Delta Lake, local disk"

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.path = str(Path(args["root"]) / TABLE)

    def prepare(self) -> None:
        import deltalake  # noqa: F401

    def _options(self) -> dict[str, str] | None:
        """delta-rs storage options: none on a local disk."""
        return None

    def publish(self, frame: pl.DataFrame, unit: int) -> None:
        from deltalake import write_deltalake

        write_deltalake(
            self.path,
            frame.to_arrow(),
            mode="overwrite",
            partition_by=["recording_date", "unit"],
            predicate=f"recording_date = '{DAY}' AND unit = {unit}",
            storage_options=self._options(),
        )

    def reader(self) -> duckdb.DuckDBPyConnection:
        con = _connect()
        load_offline(con, "delta")
        return con

    def table(self, con: duckdb.DuckDBPyConnection) -> str:
        return f"delta_scan('{self.path}')"


class DeltaS3(Delta):
    """The same Delta table on S3: data files and log entries are objects; a commit is a PUT
    of the next log entry with If-None-Match (delta-rs `conditional_put=etag`), so two writers
    can never both take the same table version."""

    name = "Delta Lake, S3"

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.s3 = S3Server(**args["s3"])
        self.prefix = f"{BUCKET}/{Path(args['root']).name}/{TABLE}"
        self.path = f"s3://{self.prefix}"
        self.fs = _s3fs(self.s3)

    def _options(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.s3.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_access_key,
            "AWS_REGION": self.s3.region,
            "AWS_ALLOW_HTTP": "true",
            "conditional_put": "etag",
        }

    def reader(self) -> duckdb.DuckDBPyConnection:
        con = super().reader()
        create_s3_secret(con, _storage(self.s3))
        return con

    def files(self) -> dict[str, tuple[Any, ...]]:
        return FolderS3.files(self)  # type: ignore[arg-type]  # the same listing of a prefix


class Iceberg(_Way):
    """Iceberg (pyiceberg, SQL catalog in SQLite, local disk) partitioned by day and unit; a unit
    is replaced by an overwrite with a filter in one catalog commit. DuckDB's iceberg extension
    reads the metadata file the catalog points at when the query starts."""

    name = "Iceberg, SQLite catalog, local disk"

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.catalog_file = Path(args["root"]) / "catalog.db"
        self.catalog_file.parent.mkdir(parents=True, exist_ok=True)

    def _table(self):
        from pyiceberg.catalog.sql import SqlCatalog
        from pyiceberg.exceptions import NamespaceAlreadyExistsError, TableAlreadyExistsError

        catalog = SqlCatalog(
            "bench", uri=f"sqlite:///{self.catalog_file}", warehouse=f"file://{self.args['root']}"
        )
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace("lake")
        try:
            return catalog.load_table(f"lake.{TABLE}")
        except Exception:  # noqa: BLE001 - the first writer creates it
            schema = unit_frames(0.1, 1, 0)[0].to_arrow().schema
            with contextlib.suppress(TableAlreadyExistsError):
                table = catalog.create_table(f"lake.{TABLE}", schema=schema)
                with table.update_spec() as spec:
                    spec.add_identity("recording_date")
                    spec.add_identity("unit")
            return catalog.load_table(f"lake.{TABLE}")

    def prepare(self) -> None:
        self._table()

    def publish(self, frame: pl.DataFrame, unit: int) -> None:
        from pyiceberg.expressions import And, EqualTo

        self._table().overwrite(
            frame.to_arrow(),
            overwrite_filter=And(EqualTo("recording_date", str(DAY)), EqualTo("unit", unit)),
        )

    def reader(self) -> duckdb.DuckDBPyConnection:
        con = _connect()
        load_offline(con, "avro")
        load_offline(con, "iceberg")
        return con

    def table(self, con: duckdb.DuckDBPyConnection) -> str:
        with contextlib.closing(sqlite3.connect(self.catalog_file)) as catalog:
            (location,) = catalog.execute(
                "SELECT metadata_location FROM iceberg_tables WHERE table_name = ?", (TABLE,)
            ).fetchone()
        return f"iceberg_scan('{location}')"


class DuckLakeUnits(_Way):
    """DuckLake as in bench/lake_format.py (catalog in PostgreSQL, data on S3); a unit is
    replaced by DELETE + INSERT in one transaction."""

    name = "DuckLake, PostgreSQL catalog, S3 data"

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.s3 = S3Server(**args["s3"])
        self.lake = DuckLake(self.s3, PostgresServer(**args["pg"]), args["catalog"])

    def publish(self, frame: pl.DataFrame, unit: int) -> None:
        con = self.lake.connect()
        try:
            con.register("incoming", frame.to_arrow())
            con.execute("BEGIN")
            con.execute(f"CREATE TABLE IF NOT EXISTS lk.{TABLE} AS FROM incoming LIMIT 0")
            con.execute(
                f"DELETE FROM lk.{TABLE} WHERE recording_date = DATE '{DAY}' AND unit = {unit}"
            )
            con.execute(f"INSERT INTO lk.{TABLE} FROM incoming")
            con.execute("COMMIT")
        finally:
            con.close()

    def reader(self) -> duckdb.DuckDBPyConnection:
        return self.lake.connect()

    def table(self, con: duckdb.DuckDBPyConnection) -> str:
        return f"lk.{TABLE}"

    def files(self) -> dict[str, tuple[Any, ...]]:
        fs = _s3fs(self.s3)
        fs.invalidate_cache()
        prefix = f"{BUCKET}/ducklake"
        found = fs.find(prefix, detail=True) if fs.exists(prefix) else {}
        return {path: (info["size"], info.get("ETag")) for path, info in found.items()}


WAYS: dict[str, type[_Way]] = {
    "folder": FolderLocal,
    "folder-s3": FolderS3,
    "delta": Delta,
    "delta-s3": DeltaS3,
    "iceberg": Iceberg,
    "ducklake": DuckLakeUnits,
}


# --- what a reader sees ----------------------------------------------------------------------
def day_state(way: _Way, con: duckdb.DuckDBPyConnection) -> dict[int, tuple[int, int, int]]:
    """unit -> (oldest version, newest version, rows) of the day, in one query."""
    rows = con.execute(
        f"SELECT unit, min(version), max(version), count(*) FROM {way.table(con)} "
        f"WHERE recording_date = DATE '{DAY}' GROUP BY unit"
    ).fetchall()
    return {int(u): (int(lo), int(hi), int(n)) for u, lo, hi, n in rows}


def whole(state: dict[int, tuple[int, int, int]], rows: list[int]) -> bool:
    """Every unit there once, in one version, with all its rows (`rows[unit]`)."""
    return sorted(state) == list(range(len(rows))) and all(
        lo == hi and n == rows[u] for u, (lo, hi, n) in state.items()
    )


def _looping_reader(args: tuple[str, dict, list[int], float, float]) -> dict[str, Any]:
    way_key, way_args, rows, start_at, stop_at = args
    way = WAYS[way_key](**way_args)
    con = way.reader()
    seen = {"queries": 0, "mixed_or_partial": 0, "errors": 0, "first_error": ""}
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        seen["queries"] += 1
        try:
            state = day_state(way, con)
        except Exception as exc:  # noqa: BLE001 - counted: an analyst's query failing is the result
            seen["errors"] += 1
            seen["first_error"] = seen["first_error"] or " ".join(str(exc).split())[:200]
            continue
        if not whole(state, rows):
            seen["mixed_or_partial"] += 1
    con.close()
    return seen


def _publisher(args: tuple[str, dict, float, int, int, int, Any]) -> None:
    """Publish one unit in a process of its own; `ready` is set once the frame is built."""
    way_key, way_args, hours, units, unit, version, ready = args
    way = WAYS[way_key](**way_args)
    frame = unit_frames(hours, units, version)[unit]
    way.prepare()  # imports and catalog done: the kill lands in the publish itself
    ready.set()
    way.publish(frame, unit)


def _publish_at(args: tuple[str, dict, float, int, int, int, float]) -> str:
    way_key, way_args, hours, units, unit, version, start_at = args
    way = WAYS[way_key](**way_args)
    frame = unit_frames(hours, units, version)[unit]
    time.sleep(max(0.0, start_at - time.time()))
    try:
        way.publish(frame, unit)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported: the outcome is the result
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


# --- the measurement -------------------------------------------------------------------------
def measure(
    key: str,
    root: Path,
    s3: S3Server | None,
    pg: PostgresServer | None,
    hours: float,
    units: int,
    loop_s: float = 8.0,
    start_delay_s: float = 15.0,
) -> dict[str, Any]:
    catalog = f"units_{key.replace('-', '_')}"
    if key == "ducklake":
        pg.create_database(catalog)
    args = {
        "root": str(root / key),
        "s3": s3.__dict__ if s3 else None,
        "pg": pg.__dict__ if pg else None,
        "catalog": catalog,
    }
    way = WAYS[key](**args)
    spawn = multiprocessing.get_context("spawn")
    first = unit_frames(hours, units, version=1)
    rows = [f.height for f in first]
    one_unit = [_timed(lambda u=u: way.publish(first[u], u)) for u in range(units)]
    before = way.files()
    second = unit_frames(hours, units, version=2)
    target = units // 2  # the unit republished
    republish = _timed(lambda: way.publish(second[target], target))
    after = way.files()
    changed = [p for p, v in before.items() if after.get(p) != v]
    written = [p for p, v in after.items() if before.get(p) != v]

    con = way.reader()  # cold: a fresh connection's first queries
    day_s = _timed(
        lambda: con.execute(f"SELECT count(*), avg(happy) FROM {way.table(con)}").fetchall()
    )
    recording = f"{DAY}-r7"
    one_s = _timed(
        lambda: con.execute(
            f"SELECT * FROM {way.table(con)} WHERE recording_date = DATE '{DAY}' "
            f"AND recording_id = '{recording}' ORDER BY frame"
        ).fetchall()
    )
    state = day_state(way, con)
    con.close()
    republished_whole = whole(state, rows) and state[target][0] == 2

    # (a) A reader loops over the day while units are republished, round robin.
    start_at = time.time() + start_delay_s
    stop_at = start_at + loop_s
    with spawn.Pool(1) as pool:
        pending = pool.apply_async(_looping_reader, ((key, args, rows, start_at, stop_at),))
        versions = [unit_frames(hours, units, version=v) for v in (3, 4)]
        publishes = 0
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < stop_at:
            unit = publishes % units
            way.publish(versions[(publishes // units) % 2][unit], unit)
            publishes += 1
        reader = pending.get()
    con = way.reader()  # cold again, after the loop's many commits
    day_after_loop_s = _timed(
        lambda: con.execute(f"SELECT count(*), avg(happy) FROM {way.table(con)}").fetchall()
    )
    con.close()
    # Rebuild the baseline: every unit at one known version before the kills.
    base = unit_frames(hours, units, version=10)
    for u in range(units):
        way.publish(base[u], u)

    # (b) A writer SIGKILLed mid-publish of the last unit, at fractions of a measured republish.
    last, kills = units - 1, []
    for n, fraction in enumerate(KILL_FRACTIONS):
        ready = spawn.Event()
        process = spawn.Process(
            target=_publisher, args=((key, args, hours, units, last, 20 + n, ready),)
        )
        process.start()
        ready.wait(120)
        time.sleep(republish * fraction)
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        con = way.reader()
        try:
            state = day_state(way, con)
            left = "whole" if whole(state, rows) else "MIXED OR PARTIAL"
            unit_after = {10: "old", 20 + n: "new"}.get(state.get(last, (0,))[0], "?")
        except Exception as exc:  # noqa: BLE001 - reported
            left, unit_after = f"ERROR {' '.join(str(exc).split())[:120]}", "?"
        finally:
            con.close()
        try:
            way.publish(base[last], last)  # the next run of the unit
            rerun = "ok"
        except Exception as exc:  # noqa: BLE001 - reported
            rerun = f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
        kills.append(
            {
                "at": fraction,
                "killed": process.exitcode == -signal.SIGKILL,
                "day_after": left,
                "unit_after": unit_after,
                "next_publish": rerun,
            }
        )

    # Two writers, two units of the same day, at the same moment (two steps on two workers).
    start_at = time.time() + start_delay_s
    jobs = [(key, args, hours, units, u, 30, start_at) for u in (0, 1)]
    with spawn.Pool(2) as pool:
        concurrent = pool.map(_publish_at, jobs)
    con = way.reader()
    state = day_state(way, con)
    con.close()
    return {
        "way": WAYS[key].name,
        "rows_per_unit": rows[0],
        "publish_unit_s": round(statistics.median(one_unit), 3),
        "write_day_s": round(sum(one_unit), 3),
        "republish_unit_s": round(republish, 3),
        "republish_existing_objects_changed": len(changed),
        "republish_objects_written": len(written),
        "republish_kb_written": round(sum(after[p][0] for p in written) / 1024),
        "republished_whole": republished_whole,
        "read_day_cold_s": round(day_s, 3),
        "read_recording_cold_s": round(one_s, 3),
        "read_day_cold_after_loop_s": round(day_after_loop_s, 3),
        "loop_reader": reader,
        "loop_publishes": publishes,
        "kills": kills,
        "concurrent_outcomes": concurrent,
        "concurrent_units_after": {u: state[u][0] for u in (0, 1)},
    }


def markdown(result: dict[str, Any]) -> str:
    ways = result["ways"]
    lines = [
        f"# Publishing a day's work units: folder of Parquet vs Delta, Iceberg, DuckLake — "
        f"{result['date']}",
        "",
        f"One day of {result['hours']} audio hours ({result['rows_per_day']:,} frame rows) in "
        f"{result['units']} units of {ways[0]['rows_per_unit']:,} rows; "
        f"{result['machine'].get('cpu_model', '')} ({result['machine'].get('logical_cores', '?')} "
        f"cores), load average {result['load_average']}. SeaweedFS S3 and PostgreSQL on "
        "127.0.0.1 (devstack.servers). Reads: a fresh DuckDB connection's first query.",
        "",
        "| | " + " | ".join(r["way"] for r in ways) + " |",
        "|---|" + "---:|" * len(ways),
    ]

    def row(label: str, get) -> None:
        lines.append(f"| {label} | " + " | ".join(str(get(r)) for r in ways) + " |")

    row("publish one unit (s, median)", lambda r: r["publish_unit_s"])
    row(f"write the day as {result['units']} units (s)", lambda r: r["write_day_s"])
    row("republish one unit (s)", lambda r: r["republish_unit_s"])
    row(
        "republish: objects written / KB / existing objects changed",
        lambda r: (
            f"{r['republish_objects_written']} / {r['republish_kb_written']} / "
            f"{r['republish_existing_objects_changed']}"
        ),
    )
    row("read the whole day, cold (s)", lambda r: r["read_day_cold_s"])
    row("read one recording, cold (s)", lambda r: r["read_recording_cold_s"])
    row(
        "read the whole day, cold, after the loop's republishes (s)",
        lambda r: r["read_day_cold_after_loop_s"],
    )
    row(
        "(a) looping reader: queries / mixed or partial / errors",
        lambda r: (
            f"{r['loop_reader']['queries']} / {r['loop_reader']['mixed_or_partial']} / "
            f"{r['loop_reader']['errors']}"
        ),
    )
    row("(a) units republished meanwhile", lambda r: r["loop_publishes"])
    row(
        "(b) SIGKILL mid-publish: killed / day whole after / next publish ok",
        lambda r: (
            f"{sum(k['killed'] for k in r['kills'])}/{len(r['kills'])} / "
            f"{sum(k['day_after'] == 'whole' for k in r['kills'])}/{len(r['kills'])} / "
            f"{sum(k['next_publish'] == 'ok' for k in r['kills'])}/{len(r['kills'])}"
        ),
    )
    row("(b) the unit after each kill", lambda r: ", ".join(k["unit_after"] for k in r["kills"]))
    row(
        "two writers, two units at once",
        lambda r: ", ".join(o if o == "ok" else o.split(":")[0] for o in r["concurrent_outcomes"]),
    )
    row(
        "two writers: both units new afterwards",
        lambda r: all(v == 30 for v in r["concurrent_units_after"].values()),
    )
    notes = [
        f"- {r['way']}: reader's first error: {r['loop_reader']['first_error']}"
        for r in ways
        if r["loop_reader"]["first_error"]
    ] + [
        f"- {r['way']}: concurrent writer: {o}"
        for r in ways
        for o in r["concurrent_outcomes"]
        if o != "ok"
    ]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def run(hours: float, units: int, keys: list[str], loop_s: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_server(Path(tmp) / "pg") as pg,
        s3_server(Path(tmp) / "s3") as s3,
    ):
        s3.create_bucket(BUCKET)
        ways = [measure(k, Path(tmp) / "ways", s3, pg, hours, units, loop_s) for k in keys]
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "hours": hours,
        "units": units,
        "rows_per_day": int(hours * FRAMES_PER_HOUR),
        "machine": describe(threads=os.cpu_count() or 1, device="cpu"),
        "load_average": round(os.getloadavg()[0], 1),
        "ways": ways,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.unit_publication", description=__doc__)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--ways", nargs="+", choices=list(WAYS), default=list(WAYS))
    parser.add_argument("--loop-s", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    result = run(args.hours, args.units, args.ways, args.loop_s)
    write_results(args.out, f"{dt.date.today()}-unit-publication", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
