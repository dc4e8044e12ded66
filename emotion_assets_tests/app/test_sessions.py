"""Visitors' files on the real server, started as `make app` starts it for a new user: each
session's own folder, served only to its browser, deleted when the session ends; no server
path on the page; no false ffmpeg notice at start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from emotion_assets.app.server import WORK_PREFIX, work_folder
from emotion_assets_tests.app.conftest import SPEECH, Server
from emotion_assets_tests.app.gradio_http import Visitor, file_urls

END_TIMEOUT_S = 120  # the server notices a closed heartbeat on its next beat


def _gone(path: Path) -> bool:
    deadline = time.monotonic() + END_TIMEOUT_S
    while path.exists() and time.monotonic() < deadline:
        time.sleep(1)
    return not path.exists()


@pytest.mark.slow
def test_two_visitors_see_only_their_own_files(new_user_server: Server, shared_audio: Path):
    server = new_user_server
    speech = shared_audio / SPEECH
    anna, bob = Visitor(server.url), Visitor(server.url)
    upload = anna.upload(speech)
    outputs = anna.call("analyse", [upload, None, "frame", False])
    status, log_text, headline = outputs[0], outputs[1], outputs[5]
    assert "analysed" in status

    # The page names no server path: not in the log, not in the headline.
    assert str(server.data) not in log_text + headline
    assert "output written to outputs_" in log_text

    # Anna's session has a folder of its own, under a name no one can guess.
    (folder,) = server.session_folders()
    assert len(folder.name) == 32 and int(folder.name, 16) >= 0
    (input_copy,) = folder.glob("outputs_*/input/*")
    urls = list(file_urls(outputs))
    assert len(urls) > 4  # downloads, heat map, clips
    asked = [
        *urls,
        f"/gradio_api/file={input_copy}",  # the request: the upload's copy
        f"/gradio_api/file={upload['path']}",  # the upload as Gradio received it
    ]
    for url in asked:
        assert anna.get(url).status_code == 200, url
        assert bob.get(url).status_code == 404, url
        assert _stranger(server.url, url) == 404, url

    # Anna closes her tab: her session's files are deleted, and no longer served to anyone.
    anna.leave()
    assert _gone(folder), list(folder.rglob("*"))
    for url in urls:
        assert bob.get(url).status_code == 404
    bob.leave()

    # ffmpeg comes with the project: no "install ffmpeg" notice at start (funasr's, printed
    # when it is imported: here while looking up the default model's hub id).
    assert "ffmpeg is not installed" not in server.log.read_text()


def _stranger(url: str, path: str) -> int:
    """A client without any cookie."""
    return httpx.get(httpx.URL(url).join(path), timeout=60).status_code


def test_a_dead_servers_folder_is_removed_by_the_next(tmp_path: Path):
    """A server killed outright (no cleanup ran) leaves its folder; the next one removes it,
    and leaves a running server's folder alone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f"{WORK_PREFIX}{dead.pid}-abc"
    (left / "sessions" / "x").mkdir(parents=True)
    running = tmp_path / f"{WORK_PREFIX}{1}-def"  # pid 1 is always alive
    running.mkdir()
    ours = work_folder(tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted([running, ours])
    assert ours.name.startswith(f"{WORK_PREFIX}{os.getpid()}-")
