"""`python -m devstack.stack`, as a user runs it: the demo day through the one-machine
distributed stack, each step on a Celery worker, every artifact in the S3 server's bucket, then
Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from emotion_assets.cli.demo import SAMPLES, default_day
from emotion_assets.settings import StorageSettings, load_group
from emotion_assets.storage import Storage
from emotion_assets.warehouse.tables import days_by_table, read_days
from emotion_assets_tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

READY = "the stack keeps running"
DAY_LINE = re.compile(r"== run \S+ of (\d{4}-\d{2}-\d{2}), launched through the webserver")
STORAGE_LINE = re.compile(r"storage, for every process: (.+)$")
STEP_LINE = re.compile(r"^   (\S+)\s+(\S+@\S+)\s+pid (\d+)$")


def _lines(proc: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_until(lines: queue.Queue, marker: str, timeout: float, seen: list[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError("the stack ended early:\n" + "\n".join(seen[-60:]))
        seen.append(line)
        if marker in line:
            return
    raise AssertionError(f"no {marker!r} within {timeout:.0f} s:\n" + "\n".join(seen[-60:]))


def _processes_of(folder: Path) -> list[str]:
    """Processes whose command line or environment names the stack's folder."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        with_folder = str(folder) in " ".join(proc.info["cmdline"] or [])
        if not with_folder:
            try:
                with_folder = any(str(folder) in v for v in proc.environ().values())
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        if with_folder and proc.pid != os.getpid():
            found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])[:120]}")
    return found


def _bucket(seen: list[str]) -> Storage:
    """The root the stack printed (EMOTION_STORAGE_URL and the S3 server's AWS_* variables)."""
    line = next(m[1] for m in map(STORAGE_LINE.search, seen) if m)
    variables = dict(pair.split("=", 1) for pair in line.split())
    assert variables["EMOTION_STORAGE_URL"].startswith("s3://"), line
    settings = StorageSettings(
        storage_url=variables["EMOTION_STORAGE_URL"],
        aws_endpoint_url=variables["AWS_ENDPOINT_URL"],
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        aws_region=variables["AWS_REGION"],
    )
    return Storage.from_settings(settings)


def _assert_in_the_bucket(storage: Storage, day: str) -> int:
    """The samples, the tables and the report of the day are objects in the bucket."""
    raw = {key.rsplit("/", 1)[1] for key in storage.list(f"raw/{day}")}
    samples = {p.name for p in SAMPLES.iterdir() if not p.name.upper().startswith("ATTRIBUTION")}
    assert samples and samples <= raw, (samples, raw)
    tables = {t for t, days in days_by_table(storage).items() if day in days}
    assert {"raw_recordings", "frame_emotion_scores", "recording_summary"} <= tables, tables
    assert storage.exists(f"reports/{day}/index.html")
    assert storage.list(f"processed/{day}"), "no normalized audio in the bucket"
    frames = read_days(storage, "frame_emotion_scores", [day])
    assert frames.height > 0
    return frames.height


def test_the_stack_runs_the_demo_day_on_workers_and_ctrl_c_stops_everything(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    # Not under pytest's tmp_path: PostgreSQL runs as an unprivileged user when the tests run as
    # root, and another pytest session may make pytest's base folder 0700 again at any time.
    folder = Path(tempfile.mkdtemp(prefix="emotion-stack-test-"))
    env = {
        **os.environ,
        "EMOTION_MODEL": str(tiny_model_dir),
        "EMOTION_THREADS": "1",
        "EMOTION_DATA_DIR": str(tmp_path / "not-used"),  # the stack uses its own folder
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.stack", "--folder", str(folder), "--keep-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=REPO,
        # A test run started in the background (`make test &`, nohup) ignores SIGINT, and an
        # ignored signal stays ignored across exec: give the stack the terminal's Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen: list[str] = []
    try:
        _read_until(_lines(proc), READY, timeout=1200, seen=seen)
        assert _processes_of(folder), "the stack's servers and workers should be running now"
        # The demo's day (the latest partition) unless --date says otherwise.
        day = next(m[1] for m in map(DAY_LINE.search, seen) if m)
        assert day == default_day(load_group(StorageSettings)), day
        frames = _assert_in_the_bucket(_bucket(seen), day)  # while its S3 server still runs
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=120) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)
    output = "\n".join(seen)

    # Every step ran on a Celery worker, in a process other than the run's own.
    run_pid = int(re.search(r"the run's own process: pid (\d+)", output).group(1))
    steps = {m[1]: (m[2], int(m[3])) for m in map(STEP_LINE.match, seen) if m}
    units = [s for s in steps if s.startswith("emotion_model_outputs.score_model_unit[")]
    assert units and "team_health" in steps, output
    assert all(pid != run_pid for _, pid in steps.values())
    # The model step's units on the GPU-queue worker only, every other step on the CPU-queue one.
    assert all(steps.pop(unit)[0].startswith("gpu@") for unit in units)
    assert {worker.split("@")[0] for worker, _ in steps.values()} == {"cpu"}
    # The row counts it printed are the bucket's.
    assert f"tables of {day}, read from s3://" in output, output
    assert re.search(rf"frame_emotion_scores\s+{frames} rows", output), output

    # Nothing it started is left: no server, worker, webserver or daemon names its folder.
    deadline = time.monotonic() + 30
    while (left := _processes_of(folder)) and time.monotonic() < deadline:
        time.sleep(1)
    assert not left, left
