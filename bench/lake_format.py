"""Views over hive-partitioned Parquet on S3 versus DuckLake (catalog in PostgreSQL, data on S3).

Issue 13 asked to measure before choosing how analysts and concurrent writers share the lake.
Both run against real servers started here (SeaweedFS, PostgreSQL: devstack.servers),
on the same synthetic frame table, and the report gives for each: the time to write a day, to
replace a day, two writers on different days at once, and an analyst's cold queries.

    python -m bench.lake_format [--days 4] [--hours 2] [--out bench/results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from bench.machine import describe
from bench.report import write_results
from devstack.servers import PostgresServer, S3Server, postgres_server, s3_server
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.settings import StorageSettings
from emotion_assets.warehouse.extensions import create_s3_secret, load_offline

FRAMES_PER_HOUR = 180_000  # 50 frames a second
RECORDING_FRAMES = 15_000  # 5-minute recordings
BUCKET = "lake"
FIRST_DAY = dt.date(2024, 6, 1)

QUERIES = {
    "rows per day": "SELECT recording_date, count(*) FROM {t} GROUP BY ALL ORDER BY 1",
    "one recording's frames": "SELECT * FROM {t} WHERE recording_date = DATE '{day}' "
    "AND recording_id = '{day}-r7' ORDER BY frame",
    "mean scores per recording, one day": "SELECT recording_id, avg(angry), avg(happy), avg(sad) "
    "FROM {t} WHERE recording_date = DATE '{day}' GROUP BY ALL",
}


def day_frames(day: dt.date, hours: float, seed: int) -> pl.DataFrame:
    rows = int(hours * FRAMES_PER_HOUR)
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.ones(len(EMOTIONS)), size=rows).astype(np.float32)
    index = np.arange(rows)
    return pl.DataFrame(
        {
            "recording_date": [day] * rows,
            "recording_id": [f"{day}-r{i}" for i in index // RECORDING_FRAMES],
            "frame": (index % RECORDING_FRAMES).astype(np.int32),
            **{label: scores[:, k] for k, label in enumerate(EMOTIONS)},
        }
    )


def _storage(s3: S3Server) -> StorageSettings:
    return StorageSettings(
        aws_endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    )


def _s3fs(s3: S3Server):
    import s3fs

    return s3fs.S3FileSystem(
        key=s3.access_key_id, secret=s3.secret_access_key, endpoint_url=s3.endpoint_url
    )


# --- the two ways --------------------------------------------------------------------------
class ParquetViews:
    """One object per day (a single PUT replaces it); analysts read a hive glob."""

    name = "views over hive Parquet"

    def __init__(self, s3: S3Server, pg: PostgresServer, catalog: str) -> None:
        self.s3 = s3
        self.fs = _s3fs(s3)

    def write_day(self, frame: pl.DataFrame, day: dt.date) -> None:
        with tempfile.NamedTemporaryFile(suffix=".parquet") as tmp:
            frame.write_parquet(tmp.name, statistics=True)
            self.fs.put_file(
                tmp.name,
                f"{BUCKET}/views/frame_emotion_scores/recording_date={day}/data.parquet",
            )

    def reader(self) -> tuple[duckdb.DuckDBPyConnection, str]:
        con = duckdb.connect(config={"autoinstall_known_extensions": False})
        create_s3_secret(con, _storage(self.s3))
        return con, (
            f"read_parquet('s3://{BUCKET}/views/frame_emotion_scores/*/data.parquet', "
            "hive_partitioning = true)"
        )


class DuckLake:
    """A DuckLake catalog in PostgreSQL, data files on S3; a day is replaced in one transaction."""

    name = "DuckLake (PostgreSQL catalog, S3 data)"

    def __init__(self, s3: S3Server, pg: PostgresServer, catalog: str) -> None:
        self.s3, self.pg, self.catalog = s3, pg, catalog

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(config={"autoinstall_known_extensions": False})
        create_s3_secret(con, _storage(self.s3))
        load_offline(con, "ducklake")
        load_offline(con, "postgres_scanner")
        con.execute(
            f"ATTACH 'ducklake:postgres:host={self.pg.host} port={self.pg.port} "
            f"dbname={self.catalog} user={self.pg.user}' AS lk "
            f"(DATA_PATH 's3://{BUCKET}/ducklake/')"
        )
        return con

    def write_day(self, frame: pl.DataFrame, day: dt.date) -> None:
        con = self.connect()
        try:
            con.register("incoming", frame.to_arrow())
            con.execute("BEGIN")
            con.execute(
                "CREATE TABLE IF NOT EXISTS lk.frame_emotion_scores AS FROM incoming LIMIT 0"
            )
            con.execute(f"DELETE FROM lk.frame_emotion_scores WHERE recording_date = DATE '{day}'")
            con.execute("INSERT INTO lk.frame_emotion_scores FROM incoming")
            con.execute("COMMIT")
        finally:
            con.close()

    def reader(self) -> tuple[duckdb.DuckDBPyConnection, str]:
        return self.connect(), "lk.frame_emotion_scores"


WAYS: dict[str, type] = {"views": ParquetViews, "ducklake": DuckLake}


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _concurrent_writer(
    args: tuple[str, dict, dict, str, str, float, int, float],
) -> tuple[str, float]:
    """Write one day when the shared start time comes; (outcome, seconds the write took)."""
    way, s3, pg, catalog, day, hours, seed, start_at = args
    store = WAYS[way](S3Server(**s3), PostgresServer(**pg), catalog)
    when = dt.date.fromisoformat(day)
    frame = day_frames(when, hours, seed)
    time.sleep(max(0.0, start_at - time.time()))  # both writers begin together
    begin = time.perf_counter()
    try:
        store.write_day(frame, when)
        return "ok", time.perf_counter() - begin
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the count is the result
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}", 0.0


def measure(
    way: str, s3: S3Server, pg: PostgresServer, days: int, hours: float, start_delay_s: float = 20
) -> dict[str, Any]:
    catalog = f"catalog_{way}"
    pg.create_database(catalog)
    store = WAYS[way](s3, pg, catalog)
    dates = [FIRST_DAY + dt.timedelta(days=i) for i in range(days)]
    frames = {d: day_frames(d, hours, seed=i) for i, d in enumerate(dates)}
    writes = [_timed(lambda d=d: store.write_day(frames[d], d)) for d in dates]
    replace = _timed(lambda: store.write_day(frames[dates[0]], dates[0]))
    # Two writers on two new days at the same moment, as two step workers would.
    extra = [FIRST_DAY + dt.timedelta(days=days + i) for i in range(2)]
    start_at = time.time() + start_delay_s  # once both processes have imported, built their day
    jobs = [
        (way, s3.__dict__, pg.__dict__, catalog, str(d), hours, 100 + i, start_at)
        for i, d in enumerate(extra)
    ]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_concurrent_writer, jobs)
    outcomes = [outcome for outcome, _ in results]
    concurrent_s = max(seconds for _, seconds in results)
    queries: dict[str, dict[str, float]] = {}
    con, table = store.reader()
    try:
        total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for label, sql in QUERIES.items():
            text = sql.format(t=table, day=dates[-1])
            cold = _timed(lambda text=text: con.execute(text).fetchall())
            warm = min(_timed(lambda text=text: con.execute(text).fetchall()) for _ in range(3))
            queries[label] = {"cold_s": round(cold, 3), "warm_s": round(warm, 3)}
    finally:
        con.close()
    expected = sum(f.height for f in frames.values()) + sum(
        int(hours * FRAMES_PER_HOUR) for ok in outcomes if ok == "ok"
    )
    return {
        "way": WAYS[way].name,
        "write_day_s": round(statistics.median(writes), 3),
        "replace_day_s": round(replace, 3),
        "two_concurrent_writers_s": round(concurrent_s, 3),
        "concurrent_outcomes": outcomes,
        "rows": total,
        "rows_expected": expected,
        "queries": queries,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Lake format: views over Parquet vs DuckLake — {result['date']}",
        "",
        f"{result['days']} days x {result['hours']} audio hours "
        f"({result['rows_per_day']:,} frame rows a day), SeaweedFS S3 and PostgreSQL on "
        f"127.0.0.1, {result['machine'].get('cpu_model', '')} ({result['machine'].get('logical_cores', '?')} "
        f"cores), load average {result['load_average']}.",
        "",
        "| | " + " | ".join(r["way"] for r in result["ways"]) + " |",
        "|---|" + "---:|" * len(result["ways"]),
    ]

    def row(label: str, get: Callable[[dict], Any]) -> None:
        lines.append(f"| {label} | " + " | ".join(str(get(r)) for r in result["ways"]) + " |")

    row("write a day (s, median)", lambda r: r["write_day_s"])
    row("replace a day (s)", lambda r: r["replace_day_s"])
    row("two writers, two days at once (s, slower one)", lambda r: r["two_concurrent_writers_s"])
    row("concurrent writers' outcomes", lambda r: ", ".join(r["concurrent_outcomes"]))
    row("rows at the end / expected", lambda r: f"{r['rows']:,} / {r['rows_expected']:,}")
    for label in QUERIES:
        row(
            f"query: {label} (cold / warm s)",
            lambda r, label=label: (
                f"{r['queries'][label]['cold_s']} / {r['queries'][label]['warm_s']}"
            ),
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lake_format", description=__doc__)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_server(Path(tmp) / "pg") as pg,
        s3_server(Path(tmp) / "s3") as s3,
    ):
        s3.create_bucket(BUCKET)
        ways = [measure(way, s3, pg, args.days, args.hours) for way in WAYS]
    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "days": args.days,
        "hours": args.hours,
        "rows_per_day": int(args.hours * FRAMES_PER_HOUR),
        "machine": describe(threads=os.cpu_count() or 1, device="cpu"),
        "load_average": round(os.getloadavg()[0], 1),
        "ways": ways,
    }
    write_results(args.out, f"{dt.date.today()}-lake-format", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
