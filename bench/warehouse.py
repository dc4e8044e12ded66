"""python -m bench.warehouse: the warehouse at a month's scale (`make bench-warehouse`).

Writes a synthetic month through the project's own writers (bench/month.py), then measures the
lake's size per audio hour per table, the time to verify the lake and build the views, and the
latency of every SQL recipe of docs/analytics.md ("the cookbook") plus a query for one
recording's frames, cold (lake files evicted from the page cache, fresh connection) and warm,
on one read-only connection. A query that scans must say so: the scan's rows come from DuckDB's
profile (EXPLAIN ANALYZE), and the one-recording query must read a small share of the month.
Results: bench/results/<date>-warehouse.json and .md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from bench.machine import cpu_summary
from bench.month import EXAMPLE_DAY, EXAMPLE_ID, MANIFEST, generate
from emotion_assets.warehouse.lake import FILE_NAME, check_lake, list_tables
from emotion_assets.warehouse.search import connect_search, ensure_search_index, search_file
from emotion_assets.warehouse.views import connect_readonly, ensure_views

REPO = Path(__file__).resolve().parents[1]
COOKBOOK = REPO / "docs" / "analytics.md"
FRAME_TABLES = ("frame_emotion_scores", "smoothed_emotion_curves")
TARGETS = {"cookbook_query_s": 2.0, "one_recording_s": 0.2, "frame_tables_mb_per_audio_h": 10.0}
# The recording lookup analysts (and the web page) run: every frame of one recording, in order.
ONE_RECORDING_SQL = (
    "SELECT * FROM frame_emotion_scores WHERE recording_id = '{rid}' ORDER BY track, frame_idx"
)
# The same with the day, as the web page and most analysts ask: the hive partition prunes files.
ONE_RECORDING_DAY_SQL = (
    "SELECT * FROM frame_emotion_scores WHERE recording_date = DATE '{day}' "
    "AND recording_id = '{rid}' ORDER BY track, frame_idx"
)


def cookbook_blocks(doc: Path = COOKBOOK) -> list[str]:
    """The ```sql blocks of the cookbook, in order (the same blocks its test runs)."""
    return re.findall(r"```sql\n(.*?)```", doc.read_text(), flags=re.S)


def title(block: str) -> str:
    first = next((ln for ln in block.splitlines() if ln.strip()), "")
    return first.removeprefix("--").strip()[:70] if first.startswith("--") else first[:70]


def evict_page_cache(lake: Path) -> int:
    """Drop the lake's files from the OS page cache (posix_fadvise, no root needed): the next
    read comes from disk, as for an analyst's first query of the morning. Returns files evicted."""
    count = 0
    for path in lake.glob(f"*/*/{FILE_NAME}"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # dirty pages cannot be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            count += 1
        finally:
            os.close(fd)
    return count


def lake_sizes(lake: Path, audio_h: float) -> dict[str, dict]:
    """Per table: bytes on disk, rows, MB per audio hour, bytes per row."""
    con = duckdb.connect()
    sizes = {}
    for table in list_tables(lake):
        files = sorted((lake / table).glob(f"*/{FILE_NAME}"))
        size = sum(f.stat().st_size for f in files)
        pattern = (lake / table / "*" / FILE_NAME).as_posix()
        rows = con.execute(
            "SELECT sum(num_rows) FROM (SELECT DISTINCT file_name, num_rows "
            "FROM parquet_file_metadata(?))",
            [pattern],
        ).fetchone()[0]
        groups = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT file_name, row_group_id "
            "FROM parquet_metadata(?))",
            [pattern],
        ).fetchone()[0]
        sizes[table] = {
            "files": len(files),
            "bytes": size,
            "rows": int(rows or 0),
            "row_groups": int(groups),
            "mb_per_audio_h": round(size / 1e6 / audio_h, 3),
            "bytes_per_row": round(size / rows, 1) if rows else None,
        }
    con.close()
    return sizes


def row_groups_to_read(lake: Path, table: str, column: str, value: str) -> dict:
    """Row groups that a reader pruning like DuckDB has to read for `column = value`, out of the
    whole table: those whose min/max statistics admit `value` and, of them, those whose Parquet
    bloom filter (where written) does not exclude it."""
    pattern = (lake / table / "*" / FILE_NAME).as_posix()
    row = duckdb.execute(
        "WITH g AS ("
        "  SELECT m.file_name, m.row_group_id, m.row_group_num_rows AS n,"
        "         m.stats_min_value <= $v AND $v <= m.stats_max_value AS hit,"
        "         coalesce(b.bloom_filter_excludes, false) AS excluded"
        "  FROM parquet_metadata($p) m"
        "  LEFT JOIN parquet_bloom_probe($p, $c, $v) b"
        "    ON b.file_name = m.file_name AND b.row_group_id = m.row_group_id"
        "  WHERE m.path_in_schema = $c)"
        "SELECT count(*), sum(n), count(*) FILTER (hit), "
        "count(*) FILTER (hit AND NOT excluded), "
        "coalesce(sum(n) FILTER (hit AND NOT excluded), 0), "
        "count(DISTINCT file_name) FILTER (hit AND NOT excluded) FROM g",
        {"p": pattern, "c": column, "v": value},
    ).fetchone()
    groups, rows, by_stats, hit_groups, hit_rows, hit_files = row
    return {
        "row_groups": int(groups),
        "row_groups_admitted_by_statistics": int(by_stats),
        "row_groups_to_read": int(hit_groups),
        "files_to_read": int(hit_files),
        "rows_to_read": int(hit_rows),
        "rows": int(rows or 0),
        "share_to_read": round(hit_rows / rows, 5) if rows else None,
    }


def _explain_text(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    return con.execute(f"EXPLAIN ANALYZE {sql}").fetchall()[0][1]


def _operators(node: dict) -> Iterator[dict]:
    if node.get("operator_name"):
        yield node
    for child in node.get("children", []):
        yield from _operators(child)


def profile(con: duckdb.DuckDBPyConnection, sql: str, top: int = 4) -> dict:
    """EXPLAIN ANALYZE of `sql`, boiled down: the operators that took the most time, with their
    rows in and out, and what the Parquet scans read (files, filters pushed into them)."""
    plan = json.loads(con.execute(f"EXPLAIN (ANALYZE, FORMAT json) {sql}").fetchall()[0][1])
    ops = [op for op in _operators(plan) if op["operator_name"] != "EXPLAIN_ANALYZE"]
    spent = sum(op.get("operator_timing", 0.0) for op in ops) or 1e-9
    summary = []
    for op in sorted(ops, key=lambda o: -o.get("operator_timing", 0.0))[:top]:
        info = op.get("extra_info", {})
        entry = {
            "operator": op["operator_name"].strip(),
            "s": round(op.get("operator_timing", 0.0), 4),
            "share": round(op.get("operator_timing", 0.0) / spent, 3),
            "rows_out": op.get("operator_cardinality", 0),
            "rows_scanned": op.get("operator_rows_scanned", 0),
        }
        for key in ("Total Files Read", "Filters", "Function"):
            if key in info:
                entry[key.lower().replace(" ", "_")] = info[key]
        summary.append(entry)
    return {
        "latency_s": round(plan.get("latency", 0.0), 4),
        "cpu_s": round(plan.get("cpu_time", 0.0), 4),
        "rows_scanned": plan.get("cumulative_rows_scanned", 0),
        "operators": summary,
    }


# What helps when an operator of this kind dominates a slow query.
FIXES = {
    "READ_PARQUET": "read fewer rows: filter on recording_date (hive partitions skip whole files) "
    "or on recording_id in a table sorted by it (row-group statistics skip the rest), or read "
    "fewer / narrower columns",
    "WINDOW": "window over fewer rows: restrict the recipe (a day, a speaker) before the window",
    "ORDER_BY": "sort fewer rows: restrict the recipe (a day, a speaker) or LIMIT it",
    "HASH_JOIN": "join fewer rows: restrict both sides by day or recording before the join",
    "HASH_GROUP_BY": "aggregate fewer rows: restrict by day, or pre-aggregate in an analytics table",
}


def diagnose(measured_s: float, prof: dict, rows: int) -> dict:
    """Why a query missed its target, from its profile, and what would fix it."""
    if not prof["operators"]:
        return {"why": "no operator profile", "fix": "–"}
    top = prof["operators"][0]
    scanned = sum(op["rows_scanned"] for op in prof["operators"])
    why = (
        f"{top['operator']} dominates EXPLAIN ANALYZE ({100 * top['share']:.0f} % of operator "
        f"time, {top['rows_out']:,} rows out); scans read {scanned:,} rows"
        + (f" from {top['total_files_read']} files" if "total_files_read" in top else "")
        + f"; {rows:,} rows returned"
    )
    if prof["latency_s"] < 0.5 * measured_s:  # most of the time is outside the query plan
        why += (
            f"; the plan itself ran {prof['latency_s']} s of the {measured_s} s measured, the "
            "rest is building the answer"
        )
        return {"why": why, "fix": "return fewer rows or columns (a day, a LIMIT)"}
    fix = FIXES.get(top["operator"].split()[0], "restrict the recipe to fewer rows (a day)")
    return {"why": why, "fix": fix}


def column_sizes(lake: Path, table: str, audio_h: float, top: int = 4) -> list[dict]:
    """A table's largest columns on disk: MB per audio hour, compression ratio, encodings."""
    pattern = (lake / table / "*" / FILE_NAME).as_posix()
    rows = duckdb.execute(
        "SELECT path_in_schema, sum(total_compressed_size), sum(total_uncompressed_size), "
        "string_agg(DISTINCT encodings, ' | ') FROM parquet_metadata(?) "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT ?",
        [pattern, top],
    ).fetchall()
    return [
        {
            "column": name,
            "mb_per_audio_h": round(packed / 1e6 / audio_h, 3),
            "compression_ratio": round(raw / packed, 2) if packed else None,
            "encodings": encodings,
        }
        for name, packed, raw, encodings in rows
    ]


def _statements(block: str) -> list[str]:
    return [part for part in block.split(";\n") if part.strip()]


def _timed(con: duckdb.DuckDBPyConnection, statements: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    for statement in statements[:-1]:
        con.execute(statement)
    # Arrow, as polars/pandas users fetch: fetchall() builds a Python object per value, which
    # costs more than the query itself for wide answers (0.3 s for one recording's 10,800 rows)
    rows = con.execute(statements[-1]).to_arrow_table().num_rows
    return time.perf_counter() - t0, rows


def time_query(
    con: duckdb.DuckDBPyConnection, lake: Path, statements: list[str], warm_repeats: int
) -> dict:
    """Cold (page cache evicted) then `warm_repeats` warm runs on the same connection."""
    evict_page_cache(lake)
    cold, rows = _timed(con, statements)
    warm = [_timed(con, statements)[0] for _ in range(warm_repeats)]
    return {
        "rows": rows,
        "cold_s": round(cold, 4),
        "warm_s": round(statistics.median(warm), 4) if warm else None,
        "warm_runs_s": [round(w, 4) for w in warm],
    }


def measure_queries(lake: Path, warehouse: Path, warm_repeats: int) -> list[dict]:
    """Every cookbook recipe on one read-only connection; the full-text recipe on a read-only
    connection to the index file built at view refresh (warehouse/search.py), as the doc says.
    A recipe that misses its target gets its profile and the reason (diagnose)."""
    results = []
    con = connect_readonly(warehouse)
    search = connect_search(warehouse)
    try:
        for i, block in enumerate(cookbook_blocks()):
            statements = _statements(block)
            entry = {"index": i, "title": title(block)}
            use = search if "match_bm25" in block else con
            if use is search:
                entry["note"] = "searches the BM25 index built at view refresh"
            entry.update(time_query(use, lake, statements, warm_repeats))
            entry["pass"] = entry["warm_s"] <= TARGETS["cookbook_query_s"]
            if not entry["pass"]:
                entry["profile"] = profile(use, statements[-1])
                entry.update(diagnose(entry["warm_s"], entry["profile"], entry["rows"]))
                entry["explain_analyze"] = _explain_text(use, statements[-1])
            results.append(entry)
    finally:
        search.close()
        con.close()
    return results


def measure_one_recording(lake: Path, warehouse: Path, warm_repeats: int) -> dict:
    """One recording's frames by id alone and by day and id; what statistics let it skip."""
    con = connect_readonly(warehouse)
    try:
        sql = ONE_RECORDING_SQL.format(rid=EXAMPLE_ID)
        entry = {"sql": sql, **time_query(con, lake, [sql], warm_repeats)}
        entry["pruning"] = row_groups_to_read(
            lake, "frame_emotion_scores", "recording_id", EXAMPLE_ID
        )
        entry["explain_analyze"] = _explain_text(con, sql)
        entry["profile"] = profile(con, sql)
        if entry["warm_s"] > TARGETS["one_recording_s"]:
            entry.update(diagnose(entry["warm_s"], entry["profile"], entry["rows"]))
        with_day = ONE_RECORDING_DAY_SQL.format(day=EXAMPLE_DAY, rid=EXAMPLE_ID)
        entry["with_day"] = {"sql": with_day, **time_query(con, lake, [with_day], warm_repeats)}
        entry["with_day"]["explain_analyze"] = _explain_text(con, with_day)
    finally:
        con.close()
    return entry


def measure_views(lake: Path, warehouse: Path) -> dict:
    """First verification of every partition, the first build of every view, a no-op refresh."""
    stale = (warehouse, search_file(warehouse), lake / "_verified.json", lake / "_views.json")
    for path in (*stale, lake / "_search.json"):
        path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    damages = check_lake(lake)
    t1 = time.perf_counter()
    ensure_search_index(lake, warehouse)  # ensure_views would build it: timed on its own
    ts = time.perf_counter()
    built = ensure_views(lake, warehouse)
    t2 = time.perf_counter()
    again = ensure_views(lake, warehouse)
    t3 = time.perf_counter()
    return {
        "verify_partitions_s": round(t1 - t0, 3),
        "damaged": len(damages),
        "search_index_s": round(ts - t1, 3),
        "search_index_mb": round(search_file(warehouse).stat().st_size / 1e6, 1),
        "build_views_s": round(t2 - ts, 3),
        "views": len(built),
        "noop_refresh_s": round(t3 - t2, 3),
        "noop_refreshed": again,
    }


SIZE_FIX = (
    "columns with a compression ratio near 1 are floats whose low bits are noise: store fewer "
    "bits (lake.SCORE_BITS_DROPPED; 16-bit scores would be a contract change), or compute "
    "smoothed_emotion_curves on read (a 5-frame window view) instead of storing them"
)


def _size_reason(report: dict) -> str:
    parts = []
    for table, columns in report.get("frame_columns", {}).items():
        cols = ", ".join(
            f"{c['column']} {c['mb_per_audio_h']} MB/h (ratio {c['compression_ratio']}, "
            f"{c['encodings']})"
            for c in columns
        )
        parts.append(f"{table}: {cols}")
    return "largest columns: " + "; ".join(parts)


def _one_recording_reason(one: dict) -> str:
    prune = one["pruning"]
    return (
        f"{one.get('why', '')}; min/max statistics and bloom filters leave "
        f"{prune['row_groups_to_read']} of {prune['row_groups']} row groups ({100 * prune['share_to_read']:.2f} % of the rows) "
        f"to read; with the day it takes {one['with_day']['warm_s']} s"
    )


def summarise(report: dict) -> dict:
    """Targets: pass/miss with the measured value; a miss says why (from the profile or the
    Parquet metadata) and what would fix it."""
    sizes = report["sizes"]
    frame_mb = sum(sizes[t]["mb_per_audio_h"] for t in FRAME_TABLES if t in sizes)
    queries = report["queries"]
    slowest = max(queries, key=lambda q: q["warm_s"])
    one = report["one_recording"]
    targets = {
        "frame_tables_mb_per_audio_h": {
            "measured": round(frame_mb, 2),
            "goal": TARGETS["frame_tables_mb_per_audio_h"],
            "pass": frame_mb <= TARGETS["frame_tables_mb_per_audio_h"],
        },
        "cookbook_query_s": {
            "measured": slowest["warm_s"],
            "slowest": slowest["title"],
            "missed": [q["title"] for q in queries if not q["pass"]],
            "goal": TARGETS["cookbook_query_s"],
            "pass": all(q["pass"] for q in queries),
        },
        "one_recording_s": {
            "measured": one["warm_s"],
            "cold": one["cold_s"],
            "with_day": one["with_day"]["warm_s"],
            "share_to_read": one["pruning"]["share_to_read"],
            "goal": TARGETS["one_recording_s"],
            "pass": one["warm_s"] <= TARGETS["one_recording_s"],
        },
    }
    size = targets["frame_tables_mb_per_audio_h"]
    if not size["pass"]:
        size.update(why=_size_reason(report), fix=SIZE_FIX)
    cookbook = targets["cookbook_query_s"]
    if not cookbook["pass"]:
        missed = [q for q in queries if not q["pass"]]
        cookbook["why"] = " | ".join(f"#{q['index']} {q['title']}: {q['why']}" for q in missed)
        cookbook["fix"] = " | ".join(f"#{q['index']}: {q['fix']}" for q in missed)
    if not targets["one_recording_s"]["pass"]:
        targets["one_recording_s"].update(why=_one_recording_reason(one), fix=one.get("fix"))
    return targets


def markdown(report: dict) -> str:
    m = report["month"]
    lines = [
        f"# Warehouse at a month's scale — {report['date']}",
        "",
        f"{m['days']} days × {m['hours_per_day']} audio h = {m['audio_h']} audio h, "
        f"{m['frames']:,} frames per frame table; generated in {m['generate_s']} s. "
        f"Machine: {report['machine']['cpu_model']}, load average at start "
        f"{report['load_avg']}. DuckDB {duckdb.__version__}.",
        "",
        "| table | files | rows | row groups | MB | MB / audio h | B / row |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for table, s in sorted(report["sizes"].items(), key=lambda kv: -kv[1]["bytes"]):
        lines.append(
            f"| {table} | {s['files']} | {s['rows']:,} | {s['row_groups']} | "
            f"{s['bytes'] / 1e6:.1f} | {s['mb_per_audio_h']} | {s['bytes_per_row']} |"
        )
    v = report["views"]
    lines += [
        "",
        f"Views: first verification of every partition {v['verify_partitions_s']} s, building "
        f"the full-text index of every sentence {v['search_index_s']} s "
        f"({v['search_index_mb']} MB), building {v['views']} views {v['build_views_s']} s, "
        f"refresh with nothing changed {v['noop_refresh_s']} s.",
        "",
        "| # | cookbook query | rows | cold s | warm s | ≤ 2 s |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for q in report["queries"]:
        lines.append(
            f"| {q['index']} | {q['title']} | {q['rows']} | {q['cold_s']} | {q['warm_s']} | "
            f"{'pass' if q['pass'] else '**miss**'} |"
        )
    one = report["one_recording"]
    prune = one["pruning"]
    lines += [
        "",
        f"One recording's frames by id (`{one['sql']}`): {one['rows']} rows, cold "
        f"{one['cold_s']} s, warm {one['warm_s']} s. Row-group statistics admit "
        f"{prune['row_groups_admitted_by_statistics']} of {prune['row_groups']} row groups; "
        f"of those, bloom filters leave {prune['row_groups_to_read']} to read, in "
        f"{prune['files_to_read']} file(s) ({100 * prune['share_to_read']:.2f} % of the "
        f"month's rows). With the day as well (`recording_date = ...`): cold "
        f"{one['with_day']['cold_s']} s, warm {one['with_day']['warm_s']} s (one file).",
        "",
        "| target | measured | goal | result |",
        "|---|---:|---:|---|",
    ]
    for name, t in report["targets"].items():
        lines.append(
            f"| {name} | {t['measured']} | {t['goal']} | {'pass' if t['pass'] else '**miss**'} |"
        )
    missed = {name: t for name, t in report["targets"].items() if not t["pass"]}
    if missed:
        lines += ["", "Why (from `EXPLAIN ANALYZE` and the Parquet metadata; details in the JSON):"]
        lines += [f"- **{name}**: {t['why']}. Would fix: {t['fix']}." for name, t in missed.items()]
    columns = report.get("frame_columns", {})
    if columns:
        lines += [
            "",
            "| frame table | largest columns (MB / audio h, compression ratio, encoding) |",
        ]
        lines.append("|---|---|")
        for table, cols in columns.items():
            listed = "; ".join(
                f"{c['column']} {c['mb_per_audio_h']} ({c['compression_ratio']}×, {c['encodings']})"
                for c in cols
            )
            lines.append(f"| {table} | {listed} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.warehouse", description=__doc__)
    parser.add_argument("--days", type=int, default=30, help="daily partitions (default 30)")
    parser.add_argument("--hours", type=float, default=10.0, help="audio hours a day (10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per query (median)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "emotion-assets-bench" / "warehouse",
        help="where the month's lake and warehouse are written",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the month already in --workdir if it has the same days/hours/seed",
    )
    parser.add_argument("--keep", action="store_true", help="keep the lake afterwards")
    parser.add_argument("--name", default=None, help="report name (default <date>-warehouse)")
    return parser.parse_args(argv)


def _reusable(root: Path, args: argparse.Namespace) -> dict | None:
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    same = (manifest["days"], manifest["hours_per_day"], manifest["seed"]) == (
        args.days,
        args.hours,
        args.seed,
    )
    return manifest if same else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.workdir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    load_avg = round(os.getloadavg()[0], 2)
    t0 = time.perf_counter()
    manifest = _reusable(root, args) if args.reuse else None
    if manifest is None:
        print(f"writing {args.days} days × {args.hours} h under {root / 'lake'}", flush=True)
        manifest = generate(root, args.days, args.hours, args.seed, log=_log)
    lake, warehouse = root / "lake", root / "warehouse.duckdb"
    report: dict = {
        "date": dt.date.today().isoformat(),
        "machine": cpu_summary(),
        "load_avg": load_avg,
        "month": {k: v for k, v in manifest.items() if k != "per_day"},
        "per_day": manifest["per_day"],
    }
    report["sizes"] = lake_sizes(lake, manifest["audio_h"])
    report["frame_columns"] = {
        t: column_sizes(lake, t, manifest["audio_h"]) for t in FRAME_TABLES if t in report["sizes"]
    }
    report["views"] = measure_views(lake, warehouse)
    _log("views built; timing the cookbook")
    report["queries"] = measure_queries(lake, warehouse, args.repeats)
    report["one_recording"] = measure_one_recording(lake, warehouse, args.repeats)
    report["targets"] = summarise(report)
    report["duration_s"] = round(time.perf_counter() - t0, 1)
    name = args.name or f"{report['date']}-warehouse"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report)
    (args.out / f"{name}.md").write_text(text)
    print(text)
    if not args.keep and not args.reuse:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def _log(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main())
