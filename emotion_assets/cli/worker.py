"""`emotion-assets worker cpu|gpu`: a Celery worker configured from the settings (docs/deploy.md).

`emotion-assets worker-config` prints that worker's config file (YAML) instead of starting one.
"""

from __future__ import annotations

import argparse
import os

import yaml

from emotion_assets.deployment.celery_workers import (
    worker_command,
    worker_config,
    worker_config_path,
    worker_env,
)
from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.foundation.quiet import quiet_library_noise
from emotion_assets.settings import ExecutionSettings, StorageSettings, load_group


def _config_text() -> str:
    return yaml.safe_dump(worker_config(load_group(ExecutionSettings)), sort_keys=False)


def print_config(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="emotion-assets worker-config", description="print a Celery worker's config (YAML)"
    ).parse_args(argv)
    print(_config_text(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    quiet_library_noise()  # the entry point lowers library chatter (quiet.py)
    parser = argparse.ArgumentParser(
        prog="emotion-assets worker", description="start a Celery worker for the CPU or GPU queue"
    )
    parser.add_argument("kind", choices=("cpu", "gpu"))
    parser.add_argument("--name", help="worker name (default: cpu or gpu; Celery adds @host)")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="worker processes (GPU: one per GPU)"
    )
    args = parser.parse_args(argv)
    settings = load_group(ExecutionSettings)
    config_path = worker_config_path(load_group(StorageSettings).data_dir, args.kind)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(config_path, _config_text())
    config_path.chmod(0o600)  # it holds the broker URL, credentials included
    command = worker_command(
        settings, args.kind, config_path, name=args.name, concurrency=args.concurrency
    )
    os.execve(command[0], command, worker_env())
    return 0  # not reached
