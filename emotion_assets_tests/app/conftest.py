"""Fixtures of the web page's tests: a Runner on the tiny model, writing into a temp folder,
and the real server (`emotion-assets serve` in a subprocess) on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.servers import free_port
from emotion_assets.app.runner import Limits, Runner

SPEECH = "speech/librispeech_198-209-0000.ogg"  # 13.9 s, one speaker


@pytest.fixture
def tiny_engine(pipeline_env: Path):
    from emotion_assets.pipeline.one_file import load_engine_or_tiny
    from emotion_assets.settings import load_settings

    # EMOTION_MODEL = the tiny model (pipeline_env)
    return load_engine_or_tiny(None, load_settings())


@pytest.fixture
def runner(tiny_engine, pipeline_env: Path) -> Runner:
    return Runner(
        tiny_engine,
        outputs_root=pipeline_env / "outputs",
        limits=Limits(max_upload_bytes=50_000_000, max_duration_s=600.0),
    )


@pytest.fixture
def speech_file(shared_audio: Path) -> Path:
    return shared_audio / SPEECH


START_TIMEOUT_S = 300  # importing torch, funasr and gradio on a busy 2-core machine


@dataclass
class Server:
    url: str
    data: Path
    temp: Path
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path

    def work_folders(self) -> list[Path]:
        """The server's own folders (uploads and sessions) in EMOTION_APP_OUTPUTS_DIR."""
        return sorted((self.data / "outputs").glob("emotion-app-*"))

    def session_folders(self) -> list[Path]:
        return sorted(p for w in self.work_folders() for p in (w / "sessions").glob("*"))


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _serve(tmp_path: Path, model: Path | None) -> Iterator[Server]:
    """`emotion-assets serve` on a free port; model None: EMOTION_MODEL unset, as for a new
    user, with the hub unreachable (127.0.0.1, refused at once), so the tiny model runs."""
    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "EMOTION_MODEL"}
    env.update(
        EMOTION_DATA_DIR=str(tmp_path / "data"),
        EMOTION_THREADS="1",
        EMOTION_APP_HOST="127.0.0.1",
        EMOTION_APP_PORT=str(port),
        MODELSCOPE_ENDPOINT="http://127.0.0.1:9",
        HF_ENDPOINT="http://127.0.0.1:9",
        TMPDIR=str(temp),
        PYTHONUNBUFFERED="1",  # its log reads as a terminal shows it, at once
    )
    if model is not None:
        env["EMOTION_MODEL"] = str(model)
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emotion_assets.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _up(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
        time.sleep(2)
    yield Server(url, tmp_path / "data", temp, env, proc, log)
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


@pytest.fixture
def page_server(tmp_path: Path, tiny_model_dir: Path) -> Iterator[Server]:
    """The server on the tiny model (EMOTION_MODEL set)."""
    yield from _serve(tmp_path, tiny_model_dir)


@pytest.fixture
def new_user_server(tmp_path: Path) -> Iterator[Server]:
    """The server as `make app` starts for a new user: no EMOTION_MODEL, no hub."""
    yield from _serve(tmp_path, None)
