"""The page in a real browser: Debian's chromium, headless, driven by Playwright.

One person's visit, start to end: upload a shared recording, watch the nine curves and the
table appear, download result.json (equal to `emotion-assets analyze`'s), add the recording to
the warehouse, upload random bytes and read the error; then a second person is served, and the
server stops cleanly, removing its temporary upload folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from emotion_assets.app.server import PAGE_ROWS
from emotion_assets.devservers import free_port
from emotion_assets.labels import EMOTIONS
from emotion_assets_tests.app.conftest import SPEECH
from emotion_assets_tests.app.test_runner import _close
from emotion_assets_tests.browser import launch, require_chromium

START_TIMEOUT_S = 300  # importing torch, funasr and gradio on a busy 2-core machine
RUN_TIMEOUT_MS = 240_000


@dataclass
class Server:
    url: str
    data: Path
    temp: Path
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def server(tmp_path: Path, tiny_model_dir: Path):
    require_chromium()
    import playwright  # noqa: F401

    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "EMOTION_DATA_DIR": str(tmp_path / "data"),
        "EMOTION_MODEL": str(tiny_model_dir),
        "EMOTION_THREADS": "1",
        "EMOTION_APP_HOST": "127.0.0.1",
        "EMOTION_APP_PORT": str(port),
        "TMPDIR": str(temp),  # the server's temporary upload folder is made here
    }
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


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="load")
    page.wait_for_selector("#start")
    return page


def _analyse(page, path: Path) -> None:
    clear = page.locator("#upload button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.locator("#upload").get_by_text(path.name).wait_for()
    page.click("#start")


@pytest.mark.slow
def test_a_visit(server: Server, shared_audio: Path, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    speech = shared_audio / SPEECH
    noise = tmp_path / "noise.wav"
    noise.write_bytes(os.urandom(60_000))
    with sync_playwright() as pw:
        browser = launch(pw)
        page = _open(browser, server.url)
        expect(page.locator("#model-warning")).to_contain_text("TINY RANDOM MODEL")

        # Upload, and the nine curves (plotly traces) and the paged table appear.
        _analyse(page, speech)
        page.wait_for_selector("#curves .js-plotly-plot", timeout=RUN_TIMEOUT_MS)
        names = page.evaluate(
            "() => document.querySelector('#curves .js-plotly-plot').data.map(t => t.name)"
        )
        assert set(EMOTIONS) <= set(names), names
        expect(page.locator("#status")).to_contain_text("analysed")
        log_text = page.locator("#log textarea").input_value()
        assert "validating audio: duration=13.9s, sample_rate=22050Hz" in log_text
        assert "output written to outputs/outputs_" in log_text
        rows = page.locator("#frame-table tbody tr")
        assert 0 < rows.count() <= PAGE_ROWS
        expect(page.locator("#page-caption")).to_contain_text("page 1 of 7")
        page.click("#page-next")
        expect(page.locator("#page-caption")).to_contain_text("page 2 of 7")
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)

        # result.json from the page = what `emotion-assets analyze` writes for the same file.
        with page.expect_download() as download:
            page.click("#dl-result")
        from_page = json.loads(Path(download.value.path()).read_text())
        cli = subprocess.run(
            [sys.executable, "-m", "emotion_assets.cli", "analyze", str(speech)]
            + ["--granularity", "frame", "--out", str(tmp_path / "cli")],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert cli.returncode == 0, cli.stderr[-2000:]
        from_cli = json.loads(Path(cli.stdout.strip().splitlines()[-1], "result.json").read_text())
        from_page.pop("timestamp"), from_cli.pop("timestamp")
        _close(from_page, from_cli)
        assert len(from_page["frame_scores"]) == 695

        # Add to the warehouse: the upload lands in raw/<date>/, with a link to the day's runs.
        page.fill("#warehouse-day textarea, #warehouse-day input", "2024-06-03")
        page.click("#add-warehouse")
        status = page.locator("#warehouse-status")
        expect(status).to_contain_text("is now in the warehouse", timeout=60_000)
        landed = server.data / "raw" / "2024-06-03" / speech.name
        assert landed.read_bytes() == speech.read_bytes()
        href = status.locator("a").get_attribute("href")
        assert href.endswith("/runs?q%5B0%5D=tag%3Adagster%2Fpartition%3D2024-06-03")

        # Random bytes: a clear message, nothing new in the warehouse or the outputs.
        outputs_before = sorted((server.data / "outputs").iterdir())
        _analyse(page, noise)
        expect(page.locator("#status")).to_contain_text(
            "noise.wav was not analysed: This is not an audio file ffmpeg can read.",
            timeout=RUN_TIMEOUT_MS,
        )
        expect(page.locator("#add-warehouse")).to_be_disabled()
        assert page.locator("#curves .js-plotly-plot").count() == 0  # the old curves are gone
        assert [p.name for p in (server.data / "raw").rglob("*")] == ["2024-06-03", speech.name]
        assert sorted((server.data / "outputs").iterdir()) == outputs_before

        # The server keeps serving: the next person's upload is analysed.
        other = _open(browser, server.url)
        _analyse(other, speech)
        other.wait_for_selector("#curves .js-plotly-plot", timeout=RUN_TIMEOUT_MS)
        assert len(sorted((server.data / "outputs").iterdir())) == len(outputs_before) + 1
        browser.close()

    # Stopping the server removes its temporary upload folder.
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0, server.log.read_text()[-2000:]
    assert not list(server.temp.glob("emotion-app-*"))
