"""`make demo`: copy the bundled samples into data/raw/<date>/, run everything, show the results."""

from __future__ import annotations

import argparse
import dataclasses
import filecmp
import logging
import os
import shutil
import sys
from pathlib import Path

from emotion_assets.foundation.layout import DataLayout
from emotion_assets.foundation.quiet import quiet_library_noise
from emotion_assets.settings import StorageSettings, load_group, load_settings

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
EXAMPLE_QUERIES = (
    (
        "Dominant emotion per recording and speaker",
        "SELECT r.file_name, s.scope, s.speaker, s.dominant_emotion, round(s.speech_s, 1) AS speech_s,\n"
        "       round(s.emotion_entropy, 2) AS entropy_bits\n"
        "FROM recording_summary s JOIN raw_recordings r USING (recording_date, recording_id)\n"
        "ORDER BY r.file_name, s.scope DESC, s.speaker",
    ),
    (
        "Emotion, second by second, in the two-speaker recording",
        "SELECT floor(f.t_start) AS second, f.speaker, mode(f.top_emotion) AS top_emotion,\n"
        "       round(avg(f.angry), 3) AS mean_angry\n"
        "FROM frame_emotion_scores f JOIN raw_recordings r USING (recording_date, recording_id)\n"
        "WHERE r.file_name = 'two_speakers.wav' AND f.is_speech\n"
        "GROUP BY ALL ORDER BY second, f.speaker LIMIT 10",
    ),
)


def default_day(storage: StorageSettings) -> str:
    """The demo's day: the latest partition (today in EMOTION_TIMEZONE), which the UI's
    "Materialize all" → "Latest" selects, inside the last 90 days that its dialog shows."""
    from emotion_assets.defs.partitions import daily_partitions, partition_bounds

    return partition_bounds(daily_partitions(storage))[1]


def copy_samples(layout: DataLayout, day: str) -> list[Path]:
    target = layout.raw_day(day)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for src in sorted(SAMPLES.iterdir()):
        if src.name.upper().startswith("ATTRIBUTION") or src.name.startswith("."):
            continue
        dst = target / src.name
        if not (dst.exists() and filecmp.cmp(src, dst, shallow=False)):
            shutil.copyfile(src, dst)  # the same bytes each time: a re-run gives the same tables
        copied.append(dst)
    return copied


def main(argv: list[str] | None = None) -> int:
    quiet_library_noise()  # the entry point lowers library chatter (quiet.py)
    parser = argparse.ArgumentParser(prog="emotion-assets demo", description=__doc__)
    parser.add_argument(
        "--date", help="partition (folder) for the samples (default: today, EMOTION_TIMEZONE)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    layout = DataLayout(settings.storage.data_dir)
    day = args.date or default_day(settings.storage)
    if settings.model.model_is_default:
        # Only the demo may fall back to the tiny model, and only when EMOTION_MODEL is unset.
        model = settings.model.model_copy(update={"allow_tiny_fallback": True})
        settings = dataclasses.replace(settings, model=model)
    files = copy_samples(layout, day)
    from emotion_assets.storage import Storage, push

    storage = Storage.from_settings(settings.storage)
    # Shared storage (docs/deploy.md): the samples are dropped under the root's raw/<day>/.
    push(storage, f"raw/{day}", layout.root, exact=False)
    print(f"\n== {len(files)} sample files in {storage.uri(f'raw/{day}')} (the demo day: {day})")

    from dagster import DagsterInstance

    from emotion_assets.defs.in_process import run_day

    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    outcome = run_day(layout.root, day, instance=instance, raise_on_error=False, settings=settings)
    if not outcome["success"]:
        print("\nThe run failed: see the log above (or `make ui`, Runs).", file=sys.stderr)
        return 1
    failed_checks = [name for name, passed in outcome["checks"] if not passed]
    print(f"\n== run {outcome['run_id']} succeeded in {outcome['wall_s']:.0f} s")
    print(
        f"   checks: {len(outcome['checks'])} run, {len(failed_checks)} failed {failed_checks or ''}"
    )
    show_results(layout, day, settings.storage)
    return 0


def show_results(layout: DataLayout, day: str, storage: StorageSettings | None = None) -> None:
    from emotion_assets.warehouse import connect_readonly

    con = connect_readonly(layout.warehouse, storage)
    try:
        models = con.execute("SELECT DISTINCT model_id FROM frame_emotion_scores").fetchall()
        for (model_id,) in models:
            if "tiny random model" in model_id:
                print(
                    "\n"
                    + "!" * 78
                    + "\n!! EMOTION_MODEL is unset and no model hub is reachable: the demo used the\n"
                    "!! TINY RANDOM MODEL. Its scores carry no meaning. Point EMOTION_MODEL at a\n"
                    "!! downloaded emotion2vec_plus_large folder for real results (README, Model).\n"
                    + "!"
                    * 78
                )
        print(f"\n== DuckDB warehouse: {layout.warehouse}")
        tables = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
        ).fetchall()
        for (name,) in tables:
            n = con.execute(
                f'SELECT count(*) FROM "{name}" WHERE recording_date = ?', [day]
            ).fetchall()[0][0]
            print(f"   {name:<28} {n:>8} rows")
        for title, sql in EXAMPLE_QUERIES:
            print(f"\n-- {title}\n{sql};")
            con.sql(sql).show(max_width=120)
    finally:
        con.close()
    latest = default_day(storage or load_group(StorageSettings))
    pick = "Latest (today)" if day == latest else f"type {day}"
    reports = layout.reports_day(day)
    if reports.exists():
        print(f"== reports: {reports / 'index.html'}  (PNG curves, heat maps, interactive HTML)")
    print(
        '\nQuery it yourself:  make sql Q="SELECT ..."\n'
        "or in Python:       duckdb.connect('data/warehouse.duckdb', read_only=True)\n"
        "Browse it:          make ui   (http://127.0.0.1:3000): Assets → emotion_reports →\n"
        f"                    Partitions → {day}; to run the day again there: Lineage →\n"
        f"                    Materialize all → {pick} → Launch 1 run"
    )
