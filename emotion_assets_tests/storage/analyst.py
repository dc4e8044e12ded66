"""An analyst's process: query the lake on S3 in a loop, through the warehouse views and a raw
glob over httpfs, until told to stop; write what it saw (counts, errors) as JSON.

    python -m emotion_assets_tests.storage.analyst WAREHOUSE TABLE STOP_FILE REPORT_FILE
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import duckdb

from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets.warehouse.views import connect_readonly, prepare_s3


def main(warehouse: Path, table: str, stop: Path, report: Path) -> None:
    """`report` + ".progress" holds the number of queries answered so far (the test waits on it)."""
    progress = report.with_name(report.name + ".progress")
    settings = load_group(StorageSettings)
    glob = f"{Storage.from_settings(settings).uri('lake')}/{table}/*/data.parquet"
    counts: list[int] = []
    errors: list[str] = []
    while not stop.exists():
        try:
            con = connect_readonly(warehouse, settings)  # reconnect: a new view file may be in
            try:
                counts.append(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            finally:
                con.close()
            tmp = progress.with_name(progress.name + ".tmp")
            tmp.write_text(str(len(counts)))
            tmp.replace(progress)
            raw = duckdb.connect()
            try:
                prepare_s3(raw, settings)  # what connect_readonly does, for a bare connection
                for _, versions in raw.execute(
                    f"SELECT recording_date, count(DISTINCT version) FROM read_parquet('{glob}', "
                    "hive_partitioning = true) GROUP BY ALL"
                ).fetchall():
                    if versions != 1:  # two versions in one day's file: a half-replaced day
                        errors.append(f"a day mixes {versions} versions")
            finally:
                raw.close()
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            errors.append(f"{type(exc).__name__}: {exc} {traceback.format_exc()[-1500:]}")
    report.write_text(json.dumps({"counts": counts, "errors": errors}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
