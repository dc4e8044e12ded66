"""The HTML report shows the transcript under the curves, plays from a sentence, and lists the
text of bursts and highlights."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from urllib.parse import unquote

import duckdb
import numpy as np
import polars as pl
import pytest
import soundfile as sf
from dagster import DagsterInstance
from playwright.sync_api import sync_playwright

from emotion_assets.audio.ingest import wav_path
from emotion_assets.defs.in_process import run_day
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.html_report import curves_figure, sentence_at
from emotion_assets.reports.render import render_recording_report
from emotion_assets.reports.series import downsample
from emotion_assets.transcripts.shown import shown_text
from emotion_assets_tests.browser import launch, require_chromium
from emotion_assets_tests.conftest import copy_into_day
from emotion_assets_tests.reports import synthetic as syn

SENTENCES = pl.DataFrame(
    {
        "recording_id": [syn.RECORDING_ID] * 3,
        "track": pl.Series([0, 0, 0], dtype=pl.Int32),
        "t_start": [2.0, 25.0, 40.0],
        "t_end": [6.0, 35.0, 44.0],
        "text": ["Good morning.", "I want a <refund> now!", "Thanks, bye."],
        "speaker": ["alice", "bob", None],
        "top_emotion": ["neutral", "angry", "happy"],
    }
)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_transcript_lane_and_player(tmp_path):
    layout = DataLayout(tmp_path)
    audio = wav_path(layout, syn.DAY, syn.RECORDING_ID, 0)
    audio.parent.mkdir(parents=True)
    sf.write(audio, np.zeros(16000, dtype=np.float32), 16000)
    frames = syn.frames(60.0)
    bursts = syn.bursts().with_columns(pl.lit("I want a <refund> now!").alias("text"))
    files = render_recording_report(
        layout=layout,
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=frames,
        smoothed=syn.smoothed(frames),
        bursts=bursts,
        title="call",
        model_id=syn.MODEL_ID,
        transcript=SENTENCES,
    )
    page = files.html.read_text()
    parser = _Collect()
    parser.feed(page)
    items = [a for tag, a in parser.tags if tag == "li" and "data-t" in a]
    assert [float(a["data-t"]) for a in items] == [2.0, 25.0, 40.0]
    assert "I want a &lt;refund&gt; now!" in page and "<refund>" not in page
    (player,) = [a for tag, a in parser.tags if tag == "audio" and a.get("id") == "recording"]
    assert (files.html.parent / unquote(player["src"])).resolve() == audio.resolve()
    assert "plotly_click" in page and "audio.currentTime = t" in page
    # The burst table says what was said during the burst.
    bursts_part = page[page.index("<h2>Bursts</h2>") : page.index("<h2>Highlights</h2>")]
    assert "“I want a &lt;refund&gt; now!”" in bursts_part


def _hover_text(template: str, meta: Sequence[str]) -> str:
    """What plotly.js shows for a hovertemplate that names the trace's meta by index."""
    return re.sub(r"%\{meta\[(\d+)\]\}", lambda m: meta[int(m.group(1))], template)


def test_hovering_the_curves_shows_the_sentence_being_said():
    frames = syn.frames(60.0)
    raw = downsample(frames)
    fig = curves_figure(
        raw=raw,
        smoothed=None,
        nonspeech=[],
        bursts=None,
        highlights=None,
        total_s=60.0,
        transcript=SENTENCES,
    )
    (said,) = [t for t in fig.data if t.name == "said"]
    # Each sentence is in the figure once (the trace's meta); each point names it by index.
    assert list(said.meta) == [
        "alice: Good morning.",
        "bob: I want a <refund> now!",
        "Thanks, bye.",
    ]
    shown = [_hover_text(h, said.meta) for h in said.hovertemplate]
    hover = dict(zip(np.round(np.asarray(said.x, dtype=float), 3), shown, strict=True))
    t_in = min(x for x in hover if 25.0 <= x < 35.0)
    t_out = min(x for x in hover if 10.0 <= x < 20.0)
    assert hover[t_in] == "bob: I want a <refund> now!"
    assert hover[t_out] == "–"
    lane = [t for t in fig.data if t.name == "transcript"]
    assert {x for t in lane for x in t.x if x is not None} == {2.0, 6.0, 25.0, 35.0, 40.0, 44.0}
    assert fig.layout.yaxis.range[0] < 0  # the lane is under the curves, same time axis
    assert sentence_at(SENTENCES, np.array([1.0, 3.0, 44.0])) == ["", "alice: Good morning.", ""]


def _hover_in_browser(page, t: float) -> list[str]:
    """Move the mouse over the curves at time t; the lines of the hover label."""
    x, y = page.evaluate(
        """(t) => { const gd = document.getElementById('emotion-curves');
           const L = gd._fullLayout, r = gd.getBoundingClientRect();
           return [r.left + L._size.l + L.xaxis.l2p(t), r.top + L._size.t + L.yaxis.l2p(0.5)]; }""",
        t,
    )
    labels = "document.querySelectorAll('.hoverlayer text').length"
    page.mouse.move(0, 0)  # off the plot: the last label goes
    page.wait_for_function(f"{labels} === 0")
    page.mouse.move(x, y)
    page.wait_for_function(f"{labels} > 0")
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.hoverlayer text')).map(e => e.textContent)"
    )


def test_the_report_in_a_browser_shows_the_sentence_under_the_mouse(tmp_path):
    require_chromium()
    frames = syn.frames(60.0)
    files = render_recording_report(
        layout=DataLayout(tmp_path),
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=frames,
        title="call",
        model_id=syn.MODEL_ID,
        transcript=SENTENCES,
    )
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(files.html.as_uri())
            page.wait_for_function("document.getElementById('emotion-curves')._fullLayout")
            said = {t: _hover_in_browser(page, t)[-1] for t in (3.0, 15.0, 30.0)}
        finally:
            browser.close()
    assert said == {
        3.0: "said : alice: Good morning.",
        15.0: "said : –",
        30.0: "said : bob: I want a <refund> now!",
    }


@pytest.mark.slow
def test_a_one_mebibyte_cue_is_cut_where_shown_and_whole_in_the_tables(pipeline_env, shared_audio):
    # The cue's text was in the figure once per 20 ms point: a report of hundreds of MB and
    # gigabytes of memory for this 14 s clip.
    day = "2024-06-05"
    text = ("I want my refund, now. " * 50_000)[: 1 << 20]
    folder = copy_into_day(
        pipeline_env, day, shared_audio / "speech" / "librispeech_198-209-0000.ogg"
    )
    (folder / "librispeech_198-209-0000.vtt").write_text(
        f"WEBVTT\n\n00:00:00.400 --> 00:00:13.500\n<v Heather>{text}\n", encoding="utf-8"
    )
    run = run_day(pipeline_env, day, instance=DagsterInstance.ephemeral())
    assert run["success"]

    con = duckdb.connect(str(pipeline_env / "warehouse.duckdb"), read_only=True)
    try:
        stored = con.sql("SELECT text FROM transcript_segments").fetchall()
        scored = con.sql("SELECT text FROM segment_emotions WHERE scope = 'segment'").fetchall()
    finally:
        con.close()
    assert stored == [(text,)] and scored == [(text,)]  # the tables keep every character

    (report,) = (pipeline_env / "reports" / day).glob("*_report.html")
    assert report.stat().st_size < len(text)  # the whole page is smaller than the one cue
    page = report.read_text(encoding="utf-8")
    cut = shown_text(text)
    assert len(cut) < 1000 and cut.endswith("…")
    assert f"<b>Heather</b>: {html.escape(cut)}</li>" in page  # the transcript list
    assert page.count(f"Heather: {cut}") == 1  # the figure: once, in the hover trace's meta
    ui = run["result"].asset_materializations_for_node("segment_emotions")[0].metadata
    assert cut in ui["most_emotional_sentences"].value
    assert len(ui["most_emotional_sentences"].value) < 2 * len(cut)
