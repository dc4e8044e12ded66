"""`make stack`: the distributed stack on one machine, the demo day through it, then stop.

Starts, all on 127.0.0.1 and in one folder: PostgreSQL (the Dagster instance), the S3 server
(SeaweedFS), Redis (the Celery broker), one CPU-queue and one GPU-queue Celery worker, the
Dagster webserver and daemon. Every process stores its artifacts on the S3 server
(EMOTION_STORAGE_URL=s3://emotion/emotion); the bundled samples are uploaded to raw/<day>/
there. Then it launches the demo day through the webserver, as the UI would; the daemon takes
it from the run queue, and the run hands each step to the workers. It prints where each step
ran (Celery worker and process id, from Dagster's own event log) and each table's row count read
from the bucket, and stops everything it started: at the end, on an error, on Ctrl-C or
SIGTERM. `--keep-running` keeps the stack up (UI link printed) until Ctrl-C.

    python -m devstack.stack [--date YYYY-MM-DD] [--folder DIR] [--keep-running]

docs/deploy.md, "Try the distributed stack on one machine", says how this maps to Kubernetes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.servers import (
    HOST,
    ServerStartError,
    background_process,
    free_port,
    postgres_server,
    redis_server,
    s3_server,
    wait_http,
)
from emotion_assets.foundation.quiet import quiet_library_noise
from emotion_assets.settings import SettingsError, StorageSettings, load_settings

if TYPE_CHECKING:
    from emotion_assets.storage import Storage

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / "workspace.yaml"
JOB = "emotion_pipeline"
BUCKET = "emotion"
STORAGE_URL = f"s3://{BUCKET}/emotion"  # the root of every artifact, for every process
TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")
WORKSPACE_STATUS = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class StackError(RuntimeError):
    """The stack could not start or the run did not finish: one sentence, logs named."""


@dataclass(frozen=True)
class StepTry:
    """One start of a step: the Celery worker and the process it ran in."""

    worker: str
    pid: int


@dataclass(frozen=True)
class StepPlace:
    step: str
    worker: str
    pid: int
    # Earlier starts that never ended (no success, failure or retry request): their worker
    # process died mid-step and the broker handed the step to another (task_acks_late).
    lost: tuple[StepTry, ...] = ()


def say(text: str = "") -> None:
    print(text, flush=True)


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(  # noqa: S310 - the stack's own webserver on 127.0.0.1
        f"{url}/graphql", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())["data"]


def wait_for_code_location(url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, KeyError, TypeError):
            entries = graphql(url, WORKSPACE_STATUS)["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["loadStatus"] == "LOADED":
                error = entries[0]["locationOrLoadError"]
                if error["__typename"] == "PythonError":
                    raise StackError(f"the code location did not load: {error['message']}")
                return
        time.sleep(1)
    raise StackError(f"the code location did not load within {timeout:.0f} s; see {log}")


def stack_environment(
    folder: Path, broker: str, backend: str, postgres: dict, s3: dict[str, str]
) -> dict[str, str]:
    """What every process of the stack reads: instance, storage, executor, broker.

    `s3`: the S3 server's AWS_* variables. EMOTION_DATA_DIR is only local scratch then.
    """
    env = {
        "DAGSTER_HOME": str(folder / "dagster_home"),
        "EMOTION_DATA_DIR": str(folder / "data"),
        "EMOTION_STORAGE_URL": STORAGE_URL,
        **s3,
        "EMOTION_EXECUTOR": "celery",
        "EMOTION_CELERY_BROKER": broker,
        "EMOTION_CELERY_BACKEND": backend,
        "GX_ANALYTICS_ENABLED": "false",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **postgres,
    }
    if "EMOTION_MODEL" not in os.environ:  # as `make demo`: the tiny model, loudly, if no other
        env["EMOTION_ALLOW_TINY_FALLBACK"] = "1"
    return env


def stack_storage_settings(env: dict[str, str], s3: dict[str, str]) -> StorageSettings:
    """The storage settings of the stack's processes (`env`): the user's, with the stack's
    scratch folder, root and S3 server."""
    replaced = {"data_dir", "storage_url", *(name.lower() for name in s3)}
    given = load_settings().storage.model_dump(exclude=replaced)
    return StorageSettings(
        **given, data_dir=env["EMOTION_DATA_DIR"], storage_url=env["EMOTION_STORAGE_URL"], **s3
    )


def upload_samples(storage: Storage, data_dir: Path, day: str) -> int:
    """The bundled samples under raw/<day>/ of the root, as `make demo` drops them."""
    from emotion_assets.cli.demo import copy_samples as copy_into_raw
    from emotion_assets.foundation.layout import DataLayout
    from emotion_assets.storage import push

    files = copy_into_raw(DataLayout(data_dir), day)
    push(storage, f"raw/{day}", data_dir, exact=False)
    return len(files)


def launch_run(url: str, port: int, day: str) -> str:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient(HOST, port_number=port)
    return client.submit_job_execution(JOB, tags={"dagster/partition": day})


def wait_for_run(port: int, run_id: str, timeout: float) -> str:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient(HOST, port_number=port)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status != last:
            say(f"   run {run_id[:8]}: {status}")
            last = status
        if status in TERMINAL:
            return status
        time.sleep(2)
    raise StackError(f"run {run_id} did not finish within {timeout:.0f} s")


def where_steps_ran(instance, run_id: str) -> tuple[int | None, list[StepPlace]]:
    """(the run process's pid, each step's Celery worker and pid), from the run's event log.

    dagster_celery's task reports "Executing steps ... in celery worker" with the worker's
    name before it runs a step; the step's own events carry the pid of the process they ran in.
    """
    from dagster import DagsterEventType

    run_pid = None
    events: list[tuple[str, str, int, str | None]] = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.RUN_START:
            run_pid = event.pid
        elif entry.step_key:
            worker = None
            if event.event_type == DagsterEventType.ENGINE_EVENT:
                value = event.event_specific_data.metadata.get("Celery worker")
                worker = None if value is None else value.value
            events.append((event.event_type_value, entry.step_key, event.pid, worker))
    return run_pid, step_places(events)


# Step events after which a start is over; a later start of the same step is then a retry.
_STEP_ENDS = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY"}


def step_places(events: list[tuple[str, str, int, str | None]]) -> list[StepPlace]:
    """Where each step ran last, and the starts before it that never ended (their process
    died, so the broker handed the step back), from a run's step events in order:
    (event type, step key, pid, the Celery worker an "Executing steps" engine event names)."""
    tries: dict[str, list[StepTry]] = {}
    ended: dict[str, list[bool]] = {}
    next_worker: dict[str, str] = {}
    for event_type, step, pid, worker in events:
        if worker is not None:  # the worker's announcement comes before the step's start
            next_worker[step] = worker
        elif event_type in ("STEP_START", "STEP_RESTARTED"):  # restarted: a retry's start
            tries.setdefault(step, []).append(StepTry(next_worker.pop(step, "?"), pid))
            ended.setdefault(step, []).append(False)
        elif event_type in _STEP_ENDS and ended.get(step):
            ended[step][-1] = True
    return [
        StepPlace(
            step,
            starts[-1].worker,
            starts[-1].pid,
            tuple(t for t, done in zip(starts[:-1], ended[step][:-1], strict=True) if not done),
        )
        for step, starts in tries.items()
    ]


def failure_messages(instance, run_id: str) -> list[str]:
    """The run's error lines (failed steps, the run's failure, engine errors)."""
    import logging

    lines = []
    for entry in instance.all_logs(run_id):
        if entry.level >= logging.ERROR:
            message = entry.dagster_event.message if entry.dagster_event else entry.user_message
            lines.append(f"{entry.step_key or 'run'}: {message}")
    return lines


def print_places(run_pid: int | None, places: list[StepPlace]) -> None:
    say(f"\n== where each step ran (the run's own process: pid {run_pid})")
    width = max((len(p.step) for p in places), default=10)
    for place in sorted(places, key=lambda p: (p.worker, p.step)):
        say(f"   {place.step:<{width}}  {place.worker:<28} pid {place.pid}")
        for lost in place.lost:
            say(
                f"   {'':<{width}}  redelivered: its start on {lost.worker} pid {lost.pid} "
                "died before the step ended; the broker handed the step to another worker process"
            )
    elsewhere = sum(p.pid != run_pid for p in places)
    say(f"   {elsewhere} of {len(places)} steps ran outside the run's process")
    redelivered = [p.step for p in places if p.lost]
    if redelivered:
        say(
            f"   {len(redelivered)} step(s) redelivered after a worker process died: "
            + ", ".join(sorted(redelivered))
        )


def print_tables(storage: Storage, day: str) -> None:
    """Each table's rows for the day, read from the lake on the root (S3)."""
    from emotion_assets.warehouse.tables import days_by_table, read_days

    say(f"\n== tables of {day}, read from {storage.uri('lake')}")
    for table, days in sorted(days_by_table(storage).items()):
        if day in days:
            rows = read_days(storage, table, [day]).height
            say(f"   {table:<28} {rows:>8} rows")
    report = f"reports/{day}/index.html"
    if storage.exists(report):
        say(f"== report: {storage.uri(report)}")


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the stack like Ctrl-C: everything started is stopped on the way out."""

    def _raise(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stack(day: str, folder: Path, *, keep_running: bool, timeout: float) -> int:
    """Start everything (each stopped by `stack` on the way out), run the day, report."""
    with contextlib.ExitStack() as stack:
        try:
            return _start_and_run(stack, day, folder, keep_running, timeout)
        finally:
            say("\n== stopping everything the stack started ...")


def _start_and_run(
    stack: contextlib.ExitStack, day: str, folder: Path, keep_running: bool, timeout: float
) -> int:
    from dagster import DagsterInstance

    from emotion_assets.deployment.instance import postgres_env, write_instance

    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[tuple[str, int | None, str]] = []
    postgres = stack.enter_context(postgres_server(folder / "postgres"))
    started.append(("PostgreSQL (Dagster instance)", None, postgres.url("dagster")))
    s3 = stack.enter_context(s3_server(folder / "s3"))
    s3.create_bucket(BUCKET)
    started.append(("S3 server (SeaweedFS)", None, f"{s3.endpoint_url} bucket {BUCKET}"))
    redis = stack.enter_context(redis_server(folder / "redis"))
    started.append(("Redis (Celery broker)", None, redis.url(0)))

    instance_env = postgres_env(postgres.create_database("dagster"))
    env = stack_environment(folder, redis.url(0), redis.url(1), instance_env, s3.env())
    for name, value in instance_env.items():  # Dagster's instance file reads them (not settings)
        os.environ[name] = value
    write_instance(Path(env["DAGSTER_HOME"]), postgres=True)
    from emotion_assets.storage import Storage

    # This process reads the storage as every process of the stack does: given, not via os.environ.
    storage = Storage.from_settings(stack_storage_settings(env, s3.env()))
    storage.validate()
    files = upload_samples(storage, Path(env["EMOTION_DATA_DIR"]), day)
    child_env = {**os.environ, **env}

    for kind in ("cpu", "gpu"):
        worker = stack.enter_context(
            background_process(
                [sys.executable, "-m", "emotion_assets.cli", "worker", kind],
                logs / f"worker-{kind}.log",
                env=child_env,
                cwd=REPO,
            )
        )
        started.append((f"Celery worker, queue {kind}", worker.pid, f"{logs}/worker-{kind}.log"))
    bin_dir = Path(sys.executable).parent
    port = free_port()
    url = f"http://{HOST}:{port}"
    webserver = stack.enter_context(
        background_process(
            [str(bin_dir / "dagster-webserver"), "-h", HOST, "-p", str(port), "-w", str(WORKSPACE)],
            logs / "webserver.log",
            env=child_env,
            cwd=REPO,
        )
    )  # fmt: skip
    started.append(("Dagster webserver", webserver.pid, url))
    daemon = stack.enter_context(
        background_process(
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
            logs / "daemon.log",
            env=child_env,
            cwd=REPO,
        )
    )
    started.append(("Dagster daemon", daemon.pid, f"{logs}/daemon.log"))

    say(f"\n== the stack ({folder})")
    for what, pid, where in started:
        say(f"   {what:<32} {'pid ' + str(pid) if pid else '':<11} {where}")
    say(f"   {files} sample files in {storage.uri(f'raw/{day}')}")
    # A throwaway local server's credentials: printed so that a person can look into the bucket.
    say(
        "   storage, for every process: "
        + " ".join(f"{k}={env[k]}" for k in ("EMOTION_STORAGE_URL", *sorted(s3.env())))
    )
    if "EMOTION_ALLOW_TINY_FALLBACK" in env:
        say(
            "!! EMOTION_MODEL is unset: if iic/emotion2vec_plus_large cannot be loaded, the run "
            "uses the TINY RANDOM MODEL (meaningless scores; README, Model)."
        )

    wait_http(f"{url}/server_info", timeout=120)
    wait_for_code_location(url, timeout=300, log=logs / "webserver.log")
    run_id = launch_run(url, port, day)
    say(f"\n== run {run_id} of {day}, launched through the webserver: {url}/runs/{run_id}")
    status = wait_for_run(port, run_id, timeout)
    instance = stack.enter_context(DagsterInstance.from_config(env["DAGSTER_HOME"]))
    run_pid, places = where_steps_ran(instance, run_id)
    print_places(run_pid, places)
    if status != "SUCCESS":
        say(f"\n!! the run ended {status}:")
        for message in failure_messages(instance, run_id):
            say(f"   {message}")
        return 1
    print_tables(storage, day)
    if keep_running:
        say(f"\n== the stack keeps running: {url}  (Ctrl-C stops everything)")
        while True:
            time.sleep(3600)
    return 0


def main(argv: list[str] | None = None) -> int:
    quiet_library_noise()  # the entry point lowers library chatter (quiet.py)
    parser = argparse.ArgumentParser(prog="python -m devstack.stack", description=__doc__)
    parser.add_argument("--date", help="partition for the samples (default: the demo's, today)")
    parser.add_argument(
        "--folder", type=Path, help="keep everything here (default: a temporary folder, removed)"
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="after the run, keep the stack up until Ctrl-C"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the run may take")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()  # a bad setting: one sentence now, not in every process later
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    from emotion_assets.cli.demo import default_day

    day = args.date or default_day(settings.storage)
    folder = (args.folder or Path(tempfile.mkdtemp(prefix="emotion-stack-"))).resolve()
    code = 1
    try:
        with stop_on_sigterm():
            code = run_stack(day, folder, keep_running=args.keep_running, timeout=args.timeout)
    except KeyboardInterrupt:
        code = 130
    except (StackError, ServerStartError) as exc:
        say(f"\n!! {exc}")
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    say("== stopped" + ("" if args.folder is None else f"; everything it wrote is in {folder}"))
    return code


if __name__ == "__main__":
    sys.exit(main())
