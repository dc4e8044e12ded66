"""The page in a real browser: Debian's chromium, headless, driven by Playwright.

One person's visit, start to end: upload a shared recording, watch the nine curves and the
table appear, download result.json (equal to `emotion-assets analyze`'s), add the recording to
the warehouse (a day outside the partitions is refused; a day folder holding another recording
of the same stem keeps it and its sidecars), upload random bytes and read the error; then a
second person is served, and the server stops cleanly, removing its folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_assets.app.server import PAGE_ROWS
from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets_tests.app.conftest import SPEECH, Server
from emotion_assets_tests.app.test_runner import _close
from emotion_assets_tests.browser import launch, require_chromium

RUN_TIMEOUT_MS = 240_000


@pytest.fixture
def server(page_server: Server) -> Server:
    require_chromium()
    import playwright  # noqa: F401

    return page_server


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
        assert "output written to outputs_" in log_text
        assert str(server.data) not in log_text + page.locator("#headline").inner_text()
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

        # Add to the warehouse: a day outside the partitions is refused, nothing is written.
        day_box = page.locator("#warehouse-day textarea, #warehouse-day input")
        status = page.locator("#warehouse-status")
        day_box.fill("1999-01-01")
        page.click("#add-warehouse")
        expect(status).to_contain_text("1999-01-01 is before the first partition", timeout=60_000)
        assert not (server.data / "raw").exists()

        # Raw/<date>/ already holds anna's recording of the same stem and her sidecar: the
        # upload and its own sidecar land under a stem of their own, a link to the day's runs.
        day = server.data / "raw" / "2024-06-03"
        day.mkdir(parents=True)
        anna = {
            f"{speech.stem}.mp3": b"ID3 anna's call",
            f"{speech.stem}.json": b'{"speaker": "anna"}',
        }
        for name, data in anna.items():
            (day / name).write_bytes(data)
        bob = tmp_path / "bob.json"
        bob.write_text('{"speaker": "bob"}')
        page.locator("#sidecars input[type=file]").set_input_files(str(bob))
        page.locator("#sidecars").get_by_text(bob.name).wait_for()
        day_box.fill("2024-06-03")
        page.click("#add-warehouse")
        expect(status).to_contain_text("is now in the warehouse", timeout=60_000)
        landed = day / f"{speech.stem}-2{speech.suffix}"
        assert landed.read_bytes() == speech.read_bytes()
        assert (day / f"{speech.stem}-2.json").read_bytes() == bob.read_bytes()
        assert {name: (day / name).read_bytes() for name in anna} == anna
        href = status.locator("a").get_attribute("href")
        assert href.endswith("/runs?q%5B0%5D=tag%3Adagster%2Fpartition%3D2024-06-03")

        # The same recording again: it is already there, nothing is replaced or added.
        raw_before = {p: p.read_bytes() for p in day.iterdir()}
        page.click("#add-warehouse")
        expect(status).to_contain_text("was already in the warehouse", timeout=60_000)
        assert {p: p.read_bytes() for p in day.iterdir()} == raw_before

        # Random bytes: a clear message, nothing new in the warehouse or the outputs.
        (session,) = server.session_folders()
        _analyse(page, noise)
        expect(page.locator("#status")).to_contain_text(
            "noise.wav was not analysed: This is not an audio file ffmpeg can read.",
            timeout=RUN_TIMEOUT_MS,
        )
        expect(page.locator("#add-warehouse")).to_be_disabled()
        assert page.locator("#curves .js-plotly-plot").count() == 0  # the old curves are gone
        assert {p: p.read_bytes() for p in day.iterdir()} == raw_before
        assert list(session.iterdir()) == []  # the rejected upload left no outputs folder

        # The server keeps serving: the next person's upload is analysed, in a folder of its own.
        other = _open(browser, server.url)
        _analyse(other, speech)
        other.wait_for_selector("#curves .js-plotly-plot", timeout=RUN_TIMEOUT_MS)
        (theirs,) = [f for f in server.session_folders() if f != session]
        assert [p.name[:8] for p in theirs.iterdir()] == ["outputs_"]
        browser.close()

    # Stopping the server removes its folder: uploads and sessions' files.
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0, server.log.read_text()[-2000:]
    assert server.work_folders() == []
