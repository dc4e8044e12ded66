"""The HTML report shows the transcript under the curves, plays from a sentence, and lists the
text of bursts and highlights."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import unquote

import numpy as np
import polars as pl
import soundfile as sf

from emotion_assets.audio.ingest import wav_path
from emotion_assets.layout import DataLayout
from emotion_assets.reports import render_recording_report
from emotion_assets.reports.html_report import curves_figure, sentence_at
from emotion_assets.reports.series import downsample
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
    hover = dict(zip(np.round(np.asarray(said.x, dtype=float), 3), said.text, strict=True))
    t_in = min(x for x in hover if 25.0 <= x < 35.0)
    t_out = min(x for x in hover if 10.0 <= x < 20.0)
    assert hover[t_in] == "bob: I want a <refund> now!"
    assert hover[t_out] == "–"
    lane = [t for t in fig.data if t.name == "transcript"]
    assert {x for t in lane for x in t.x if x is not None} == {2.0, 6.0, 25.0, 35.0, 40.0, 44.0}
    assert fig.layout.yaxis.range[0] < 0  # the lane is under the curves, same time axis
    assert sentence_at(SENTENCES, np.array([1.0, 3.0, 44.0])) == ["", "alice: Good morning.", ""]
