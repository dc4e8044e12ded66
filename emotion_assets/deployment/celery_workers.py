"""Steps on Celery workers: the Celery configuration, the worker command, the queue check.

Pure module (Celery, no Dagster): the code location's executor (emotion_assets/defs/executor.py)
and the workers (`emotion-assets worker cpu|gpu`) are both configured from
the same ExecutionSettings, so they always agree on the broker and the queues (docs/deploy.md,
"Distributed steps (Celery)").
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion_assets.settings import ExecutionSettings

if TYPE_CHECKING:
    from celery import Celery

# Dagster's op tag that picks a step's Celery queue (dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG).
QUEUE_TAG = "dagster-celery/queue"
# The Celery app module the workers load (it registers Dagster's execute_plan task).
CELERY_APP = "dagster_celery.app"
_POLL_S = 1.0


class ExecutionSetupError(RuntimeError):
    """The distributed executor cannot run: no broker, or no worker on a queue (one sentence)."""


def celery_config(settings: ExecutionSettings) -> dict[str, Any]:
    """Celery settings shared by the executor and every worker (`config_source`)."""
    return {
        # Steps without a queue tag go to the CPU queue.
        "task_default_queue": settings.celery_cpu_queue,
        # A task is acknowledged only once it finished, and handed back to the broker when its
        # worker process dies (kill -9, the OOM killer): another worker process runs the step
        # again instead of the run waiting forever for a result that never comes.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One step at a time per worker process: a GPU worker never hoards queued model steps.
        "worker_prefetch_multiplier": 1,
        # Fail fast when the broker is down (a few tries within ~2 s, not Celery's minutes).
        "broker_connection_timeout": 3,
        "broker_transport_options": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
    }


def worker_config(settings: ExecutionSettings) -> dict[str, Any]:
    """The `-y` file of `dagster-celery worker start`: the executor's own config block."""
    return {
        "execution": {
            "config": {
                "broker": settings.celery_broker,
                "backend": settings.result_backend,
                "config_source": celery_config(settings),
            }
        }
    }


def worker_config_path(data_dir: Path, kind: str) -> Path:
    """Where a worker's `-y` file lives: one per kind, rewritten at each start (the worker
    replaces this process, so a temporary folder would never be removed)."""
    return data_dir / "celery" / f"{kind}-worker.yaml"


def worker_command(
    settings: ExecutionSettings,
    kind: str,
    config_path: Path,
    *,
    name: str | None = None,
    concurrency: int = 1,
) -> list[str]:
    """`dagster-celery worker start` for a CPU or GPU worker (Celery's options after `--`)."""
    queue = {"cpu": settings.celery_cpu_queue, "gpu": settings.celery_gpu_queue}[kind]
    binary = shutil.which("dagster-celery") or str(Path(sys.executable).parent / "dagster-celery")
    return [
        binary,
        "worker",
        "start",
        "-A",
        CELERY_APP,
        "-y",
        str(config_path),
        "-q",
        queue,
        "-n",
        name or kind,
        "--",
        f"--concurrency={concurrency}",
    ]


def worker_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: `dagster-celery` starts `celery`, so the venv's bin is on PATH."""
    env = dict(os.environ if env is None else env)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(filter(None, [bin_dir, env.get("PATH")]))
    return env


def celery_app(settings: ExecutionSettings) -> Celery:
    """A Celery app on the configured broker (for checks; the executor builds its own)."""
    from celery import Celery

    app = Celery("emotion_assets", broker=settings.celery_broker, backend=settings.result_backend)
    app.conf.update(celery_config(settings))
    return app


def check_broker(app: Celery, broker: str) -> None:
    """Connect to the broker once, or ExecutionSetupError saying it is unreachable."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # kombu wraps every transport's own error types
        # e.g. redis' "Error 111 connecting to host:port. Connection refused.": one sentence
        reason = " ".join(str(exc).split()).rstrip(".").replace(". ", "; ")
        raise ExecutionSetupError(
            f"The Celery broker {broker} (EMOTION_CELERY_BROKER) is unreachable: {reason}."
        ) from None


def listening_queues(app: Celery, timeout: float = 1.0) -> dict[str, set[str]]:
    """{worker name: queues it consumes} for every worker that answers within `timeout`."""
    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    return {worker: {q["name"] for q in queues or []} for worker, queues in replies.items()}


def wait_for_workers(
    settings: ExecutionSettings,
    queues: Iterable[str],
    timeout_s: float | None = None,
    app: Celery | None = None,
) -> dict[str, list[str]]:
    """Until every queue has a listening worker: {queue: workers}, or ExecutionSetupError.

    A run that needs the GPU queue while no GPU worker listens would otherwise wait forever
    for its model step; here it fails after `timeout_s` (EMOTION_CELERY_WORKER_WAIT_S), saying
    which queue has nobody listening.
    """
    app = app or celery_app(settings)
    check_broker(app, settings.celery_broker)
    timeout_s = settings.celery_worker_wait_s if timeout_s is None else timeout_s
    needed = sorted(set(queues))
    deadline = time.monotonic() + timeout_s
    while True:
        workers = listening_queues(app)
        found = {q: sorted(w for w, qs in workers.items() if q in qs) for q in needed}
        missing = [q for q in needed if not found[q]]
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(_POLL_S)
    if missing:
        queue = missing[0]  # one sentence about the first queue nobody listens on
        kind = {settings.celery_gpu_queue: "gpu", settings.celery_cpu_queue: "cpu"}.get(queue)
        hint = f"; start one with `emotion-assets worker {kind}`"
        raise ExecutionSetupError(
            f"No {kind.upper() if kind else 'Celery'} worker is listening on queue `{queue}` "
            f"of {settings.celery_broker} after {timeout_s:g} s (EMOTION_CELERY_WORKER_WAIT_S)"
            f"{hint if kind else ''}."
        )
    return found
