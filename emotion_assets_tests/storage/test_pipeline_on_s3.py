"""The demo day materialized with every artifact on a real S3 server (SeaweedFS) and the Dagster
instance on a real PostgreSQL, compared with a local run of the same inputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from emotion_assets.cli.demo import SAMPLES
from emotion_assets.defs.in_process import run_day
from emotion_assets.deployment.instance import postgres_env, write_instance
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets.warehouse import delta
from emotion_assets.warehouse.lake import FILE_NAME
from emotion_assets.warehouse.tables import read_days, table_names
from emotion_assets_tests.conftest import REPO

pytestmark = pytest.mark.slow

DAY = "2024-06-03"
SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if not p.name.upper().startswith("ATTRIBUTION"))
# Columns that identify a row of each table (a re-run must not duplicate any).
FRAME_KEY = ["recording_id", "track", "t_start"]


def _counts(storage: Storage) -> dict[str, int]:
    return {table: read_days(storage, table, [DAY]).height for table in table_names(storage)}


def _files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _postgres_instance(home: Path, postgres_url: str, mp: pytest.MonkeyPatch) -> DagsterInstance:
    """The shared deployment's instance (deploy/ + PostgreSQL), as `emotion_assets.deployment.instance`
    writes it."""
    for name, value in postgres_env(postgres_url).items():
        mp.setenv(name, value)
    mp.setenv("DAGSTER_HOME", str(home))
    write_instance(home, postgres=True)
    return DagsterInstance.from_config(str(home))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir, s3_server, postgres_server):
    mp = pytest.MonkeyPatch()
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    mp.setenv("EMOTION_DATA_DIR", str(tmp_path_factory.mktemp("unused")))
    repo_data_before = _files_under(REPO / "data")

    # The reference: the same samples on the local default (no storage URL).
    local = tmp_path_factory.mktemp("local") / "data"
    (local / "raw" / DAY).mkdir(parents=True)
    for src in SAMPLE_FILES:
        shutil.copyfile(src, local / "raw" / DAY / src.name)
    reference = run_day(local, DAY, instance=DagsterInstance.ephemeral())
    assert reference["success"]

    # The same samples uploaded to raw/<day>/ in a bucket; data_dir is only scratch.
    bucket = f"pipeline-{os.getpid()}"
    s3_server.create_bucket(bucket)
    url = f"s3://{bucket}/emotion"
    for name, value in {"EMOTION_STORAGE_URL": url, **s3_server.env()}.items():
        mp.setenv(name, value)
    storage = Storage.from_settings(load_group(StorageSettings))
    for src in SAMPLE_FILES:
        storage.put_file(f"raw/{DAY}/{src.name}", src)
    scratch = tmp_path_factory.mktemp("scratch") / "data"
    database = postgres_server.create_database(f"pipeline_{os.getpid()}")
    home = tmp_path_factory.mktemp("dagster_home")
    with _postgres_instance(home, database, mp) as instance:
        first = run_day(scratch, DAY, instance=instance)
        counts_first, listing_first = _counts(storage), storage.list("lake")
        frames_first = read_days(storage, "frame_emotion_scores", [DAY])
        second = run_day(scratch, DAY, instance=instance)  # re-materialize the day
        runs_in_pg = len(instance.get_run_records())
    # Logged, not asserted (a shared machine): what publishing to S3 costs per run.
    print(
        f"\nwall time: local {reference['wall_s']:.0f} s, S3 + PostgreSQL first "
        f"{first['wall_s']:.0f} s, again {second['wall_s']:.0f} s"
    )
    yield {
        "local": local,
        "local_counts": _counts(Storage(str(local), local_root=local)),
        "storage": storage,
        "first": first,
        "second": second,
        "counts_first": counts_first,
        "counts_second": _counts(storage),
        "frames_first": frames_first,
        "listing_first": listing_first,
        "runs_in_pg": runs_in_pg,
        "repo_data_before": repo_data_before,
    }
    mp.undo()


def test_both_runs_succeed_with_every_check_passing(runs) -> None:
    for run in (runs["first"], runs["second"]):
        assert run["success"]
        assert [name for name, passed in run["checks"] if not passed] == []
    assert runs["runs_in_pg"] == 2  # the instance's runs are in PostgreSQL


def test_every_table_lands_in_the_bucket_with_the_local_row_counts(runs) -> None:
    assert runs["counts_first"] == runs["local_counts"]
    assert len(runs["counts_first"]) >= 15 and runs["counts_first"]["frame_emotion_scores"] > 0


def test_rematerializing_replaces_the_day_without_duplicates(runs) -> None:
    assert runs["counts_second"] == runs["counts_first"]
    frames = read_days(runs["storage"], "frame_emotion_scores", [DAY])
    assert frames.select(FRAME_KEY).is_duplicated().sum() == 0
    assert frames.height == runs["frames_first"].height
    # One object per table and day, nothing left beside it (no temp, no second copy); the
    # Delta tables: their log and data files. The unchanged day made no new commit.
    keys = sorted(runs["storage"].list("lake"))
    for key in keys:
        table, rest = key.split("/", 2)[1:]
        if delta.is_delta_table(table):
            assert rest.startswith(("_delta_log/", f"recording_date={DAY}/part-")), key
        else:
            assert rest == f"recording_date={DAY}/{FILE_NAME}", key
    assert sorted(runs["listing_first"]) == keys


def test_audio_clips_and_reports_land_in_the_bucket(runs) -> None:
    storage, local = runs["storage"], runs["local"]
    for prefix in ("processed", "clips", "reports"):
        in_bucket = {k.split("/", 2)[2] for k in storage.list(f"{prefix}/{DAY}")}
        locally = _files_under(local / prefix / DAY)
        assert in_bucket == locally and in_bucket, prefix
    index = storage.get_bytes(f"reports/{DAY}/index.html").decode()
    assert "two_speakers" in index


def test_tables_hold_relative_keys_that_resolve_in_the_bucket(runs) -> None:
    storage = runs["storage"]
    audio = read_days(storage, "normalized_audio", [DAY])
    clips = read_days(storage, "emotion_highlights", [DAY])
    paths = [*audio["audio_path"].to_list(), *clips["clip_path"].drop_nulls().to_list()]
    assert paths
    for path in paths:
        assert not path.startswith("/") and storage.exists(path), path


def test_nothing_is_written_outside_temporary_folders(runs) -> None:
    assert _files_under(REPO / "data") == runs["repo_data_before"]
