"""Nothing lost under faults: SIGKILL mid-run, a parallel backfill with an analyst reading,
hostile inputs, and a recording replaced under the same name."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance

from emotion_assets.defs.in_process import run_day
from emotion_assets_tests.faults.helpers import (
    digest,
    read_view,
    start_materialize,
    view_counts,
)

pytestmark = pytest.mark.slow
DAY = "2024-06-03"


def _checks_failed(outcome: dict) -> list[str]:
    return [name for name, passed in outcome["checks"] if not passed]


def test_a_run_killed_mid_write_is_completed_by_the_rerun(
    tmp_path: Path, shared_audio: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = [shared_audio / "speech" / n for n in ("two_speakers.wav", "two_speakers.rttm")]
    reference, victim = tmp_path / "reference", tmp_path / "victim"
    for root in (reference, victim):
        (root / "raw" / DAY).mkdir(parents=True)
        for src in inputs:
            shutil.copyfile(src, root / "raw" / DAY / src.name)
    monkeypatch.setenv("EMOTION_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("EMOTION_THREADS", "1")
    clean = run_day(reference, DAY)
    assert clean["success"]

    proc = start_materialize(victim, tiny_model_dir, DAY, tmp_path / "killed.log")
    marker = victim / "lake" / "normalized_audio" / f"recording_date={DAY}" / "data.parquet"
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run: ingest written, the model step not yet
    proc.wait()
    assert not (victim / "lake" / "frame_emotion_scores").exists()

    rerun = run_day(victim, DAY)
    assert rerun["success"] and _checks_failed(rerun) == []
    assert view_counts(victim, DAY) == view_counts(reference, DAY)
    key = ["recording_id", "track", "frame_idx"]
    frames = read_view(victim, "SELECT * FROM frame_emotion_scores")
    assert frames.select(key).is_duplicated().sum() == 0
    assert not list(victim.rglob("*.tmp"))


def _reader(warehouse: str, stop_file: str, out: str) -> None:
    con = duckdb.connect(warehouse, read_only=True)
    seen, errors = [], []
    while not os.path.exists(stop_file):
        try:
            seen.append(con.execute("SELECT count(*) FROM frame_emotion_scores").fetchone()[0])
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        time.sleep(0.05)
    con.close()
    Path(out).write_text(f"{len(seen)} {max(seen) if seen else -1}\n" + "\n".join(errors))


def test_seven_partition_backfill_in_parallel_while_an_analyst_reads(
    tmp_path: Path, shared_audio: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing as mp

    root = tmp_path / "data"
    clip = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    days = [f"2024-06-{d:02d}" for d in range(1, 8)]  # seven days
    for day in days:
        (root / "raw" / day).mkdir(parents=True)
        shutil.copyfile(clip, root / "raw" / day / clip.name)
    monkeypatch.setenv("EMOTION_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("EMOTION_THREADS", "1")
    assert run_day(root, days[0])["success"]  # the warehouse exists before analysts come

    stop, out = tmp_path / "stop", tmp_path / "reader.txt"
    reader = mp.get_context("spawn").Process(
        target=_reader, args=(str(root / "warehouse.duckdb"), str(stop), str(out))
    )
    reader.start()
    pending, running, failures = list(days[1:]), [], []
    while pending or running:
        while pending and len(running) < 3:
            day = pending.pop(0)
            running.append(
                (day, start_materialize(root, tiny_model_dir, day, tmp_path / f"{day}.log"))
            )
        time.sleep(0.5)
        for day, proc in list(running):
            if proc.poll() is not None:
                running.remove((day, proc))
                if proc.returncode != 0:
                    failures.append((day, (tmp_path / f"{day}.log").read_text()[-3000:]))
    stop.touch()
    reader.join(timeout=60)
    assert failures == []
    n_reads, *errors = out.read_text().split("\n", 1)
    assert errors == [""] or errors == [], errors
    per_day = read_view(
        root, "SELECT recording_date, count(*) AS n FROM frame_emotion_scores GROUP BY 1 ORDER BY 1"
    )
    assert per_day.height == len(days)
    assert per_day["n"].n_unique() == 1  # the same clip each day: the same frames, no duplicates
    assert int(n_reads.split()[0]) > 10


def test_hostile_inputs_are_processed_or_quarantined_and_raw_bytes_stay(
    pipeline_env: Path, shared_audio: Path, tmp_path: Path
) -> None:
    raw = pipeline_env / "raw" / DAY
    raw.mkdir(parents=True)
    for src in (shared_audio / "formats").iterdir():
        shutil.copyfile(src, raw / src.name)
    speech = shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    (raw / "random_bytes.wav").write_bytes(os.urandom(50_000))
    mp3 = (shared_audio / "formats" / "test1.mp3").read_bytes()
    (raw / "truncated.mp3").write_bytes(mp3[: len(mp3) // 3])
    (raw / "zero_bytes.wav").write_bytes(b"")
    weird = "it's a $(touch pwned) `x` ; ünïcode & name.ogg"
    shutil.copyfile(speech, raw / weird)
    (raw / "x.wav").mkdir()
    outside = tmp_path / "outside.ogg"
    shutil.copyfile(speech, outside)
    (raw / "escape.ogg").symlink_to(outside)
    shutil.copyfile(
        shared_audio / "speech" / "librispeech_3436-172162-0000.ogg", raw / "bad_rttm.ogg"
    )
    (raw / "bad_rttm.rttm").write_text(
        "SPEAKER bad_rttm 1 0.5 1.0 <NA> <NA> alice <NA> <NA>\nthis is not rttm\nSPEAKER x 1 abc\n"
    )
    shutil.copyfile(
        shared_audio / "speech" / "librispeech_5703-47212-0000.ogg", raw / "bad_json.ogg"
    )
    (raw / "bad_json.json").write_text("{not json")
    before = digest(raw)

    outcome = run_day(pipeline_env, DAY)
    assert outcome["success"]
    assert digest(raw) == before and (raw / "escape.ogg").is_symlink() and outside.exists()
    assert not (pipeline_env.parent / "pwned").exists() and not Path("pwned").exists()
    quarantine = read_view(pipeline_env, "SELECT * FROM quarantine")
    reasons = dict(zip(quarantine["file_name"], quarantine["reason"], strict=False))
    for name in (
        "random_bytes.wav",
        "zero_bytes.wav",
        "x.wav",
        "escape.ogg",
        "test1_empty.wav",
        "bad_rttm.rttm",
        "bad_json.json",
    ):
        assert reasons.get(name), f"{name} is not quarantined with a reason: {reasons}"
    raw_rows = read_view(pipeline_env, "SELECT file_name, status, duration_s FROM raw_recordings")
    status = dict(zip(raw_rows["file_name"], raw_rows["status"], strict=False))
    seconds = dict(zip(raw_rows["file_name"], raw_rows["duration_s"], strict=False))
    assert (
        status[weird] == "ok" and status["bad_rttm.ogg"] == "ok" and status["bad_json.ogg"] == "ok"
    )
    # A cut MP3 keeps the frames it has: processed, shorter than the whole file.
    assert status["truncated.mp3"] == "ok" and "truncated.mp3" not in reasons
    assert 0 < seconds["truncated.mp3"] < seconds["test1.mp3"] / 2
    turns = read_view(pipeline_env, "SELECT * FROM speaker_turns")
    assert "alice" in set(turns["speaker"])  # the good RTTM line survives the bad ones


def test_a_recording_replaced_under_the_same_name_is_reprocessed(
    pipeline_env: Path, shared_audio: Path
) -> None:
    raw = pipeline_env / "raw" / DAY
    raw.mkdir(parents=True)
    target = raw / "call.ogg"
    shutil.copyfile(shared_audio / "speech" / "librispeech_198-209-0000.ogg", target)
    instance = DagsterInstance.ephemeral()
    assert run_day(pipeline_env, DAY, instance=instance)["success"]
    old_id = read_view(pipeline_env, "SELECT recording_id FROM raw_recordings")["recording_id"][0]
    shutil.copyfile(shared_audio / "speech" / "librispeech_3436-172162-0000.ogg", target)
    assert run_day(pipeline_env, DAY, instance=instance)["success"]
    for table in (
        "raw_recordings",
        "normalized_audio",
        "frame_emotion_scores",
        "utterance_emotion_scores",
        "recording_summary",
    ):
        ids = set(
            read_view(pipeline_env, f'SELECT DISTINCT recording_id FROM "{table}"')["recording_id"]
        )
        assert old_id not in ids and len(ids) == 1, table
    frames = read_view(pipeline_env, "SELECT max(t_start) AS t FROM frame_emotion_scores")
    assert frames["t"][0] > 15.0  # the new file is 16.7 s long, the old one 13.9 s
    wavs = list((pipeline_env / "processed" / DAY).glob("*.wav"))
    assert [w.name.split("_t")[0] for w in wavs] == [
        read_view(pipeline_env, "SELECT recording_id FROM raw_recordings")["recording_id"][0]
    ]
    assert pl.Series([w.name for w in wavs]).str.contains(old_id).sum() == 0
