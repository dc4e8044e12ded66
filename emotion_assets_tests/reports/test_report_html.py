"""The interactive HTML report and the day index: offline, complete, relative links that work."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pytest
import soundfile as sf

from emotion_assets.foundation.labels import EMOTIONS
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.day_index import render_day_index
from emotion_assets.reports.html_report import curves_figure
from emotion_assets.reports.render import render_recording_report
from emotion_assets.reports.series import downsample, select_track
from emotion_assets_tests.reports import synthetic as syn


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def of(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == name]


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _write_clips(layout: DataLayout, highlights: pl.DataFrame) -> None:
    """Real speech, cut to the highlight length, where the clip paths say."""
    audio, rate = sf.read(syn.shared_audio() / "speech" / "two_speakers.wav")
    for h in highlights.iter_rows(named=True):
        target = layout.root / h["clip_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, audio[: int(rate * (h["t_end"] - h["t_start"]))], rate)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    if not (syn.shared_audio() / "speech" / "two_speakers.wav").exists():
        pytest.fail("the shared recordings are missing (set EMOTION_SHARED_AUDIO)")
    layout = DataLayout(tmp_path_factory.mktemp("data"))
    frames = syn.frames(60.0)
    highlights = syn.highlights()
    _write_clips(layout, highlights)
    files = render_recording_report(
        layout=layout,
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=frames,
        smoothed=syn.smoothed(frames),
        bursts=syn.bursts(),
        highlights=highlights,
        summary_row={"speaker": "alice", "team": "blue"},
        title="call <alice>.m4a",
        model_id=syn.MODEL_ID,
    )
    return layout, files, highlights


def test_report_has_plot_names_and_headline(report):
    _, files, _ = report
    page = files.html.read_text()
    assert 'class="plotly-graph-div"' in page
    for emotion in EMOTIONS:
        assert emotion in page
    # Headline: neutral dominates the synthetic recording, angry only in the middle.
    headline = page[page.index('class="headline"') : page.index("Emotions over time")]
    assert "neutral" in headline and "angry" not in headline
    assert files.dominant_emotion == "neutral"
    # The file name is escaped, not injected.
    assert "call &lt;alice&gt;.m4a" in page and "<alice>" not in page
    assert "blue" in page  # summary numbers from the summary row


def test_report_works_offline(report):
    _, files, _ = report
    page = files.html.read_text()
    scripts = [a.get("src") for a in _tags(page).of("script") if a.get("src")]
    assert scripts == ["plotly.min.js"]
    assert not re.search(r"src=[\"']?https?:", page)
    js = files.html.parent / "plotly.min.js"
    assert js.stat().st_size > 1_000_000
    assert "plotly" in js.read_text()[:2000].lower()


def test_every_highlight_has_a_player_whose_relative_src_is_the_clip(report):
    layout, files, highlights = report
    audios = _tags(files.html.read_text()).of("audio")
    assert len(audios) == highlights.height
    for attrs, clip in zip(audios, highlights["clip_path"], strict=True):
        src = attrs["src"]
        assert src is not None and not src.startswith(("/", "http"))
        assert src.startswith("../../clips/")
        resolved = (files.html.parent / unquote(src)).resolve()
        assert resolved == (layout.root / clip).resolve()
        assert resolved.is_file()


def test_images_and_index_links_resolve(report):
    layout, files, _ = report
    for attrs in _tags(files.html.read_text()).of("img"):
        assert (files.html.parent / attrs["src"]).is_file()
    index = render_day_index(
        layout,
        syn.DAY,
        [
            {
                "recording_id": syn.RECORDING_ID,
                "track": 0,
                "title": "call <alice>.m4a",
                "speaker": "alice",
                "dominant_emotion": "neutral",
                "confidence": 0.56,
                "duration_s": 60.0,
                "model_id": syn.MODEL_ID,
            }
        ],
    )
    assert index == layout.root / "reports" / syn.DAY / "index.html"
    tags = _tags(index.read_text())
    links = {a["href"] for a in tags.of("a")}
    assert files.html.name in links
    for href in links:
        assert (index.parent / href).is_file()
    assert [a["src"] for a in tags.of("img")] == [files.curves_png.name]
    leftovers = [p.name for p in index.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_missing_optional_tables_and_other_tracks(tmp_path):
    layout = DataLayout(tmp_path)
    both = pl.concat([syn.frames(20.0, track=0), syn.frames(30.0, track=1, seed=1)])
    files = render_recording_report(
        layout=layout,
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=1,
        frames=both,
        title="stereo.wav",
        model_id=syn.MODEL_ID,
    )
    page = files.html.read_text()
    assert files.html.name == f"{syn.RECORDING_ID}_t1_report.html"
    assert "1,500" in page and "2,500" not in page  # only track 1's 30 s of frames
    assert "no bursts" in page and "no highlights" in page
    assert "<audio" not in page


def test_clip_paths_outside_the_data_dir_get_no_player(tmp_path):
    layout = DataLayout(tmp_path)
    highlights = syn.highlights().with_columns(pl.Series("clip_path", ["../../etc/passwd", None]))
    files = render_recording_report(
        layout=layout,
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=syn.frames(60.0),
        highlights=highlights,
        title="x.wav",
        model_id=syn.MODEL_ID,
    )
    page = files.html.read_text()
    assert "<audio" not in page and "passwd" not in page
    assert page.count("clip path refused") == 2


def test_long_recording_is_downsampled_and_the_page_stays_small(tmp_path):
    frames = syn.frames(3600.0)  # 180,000 frames
    thin = downsample(frames, 5000)
    assert 2500 <= thin.height <= 5000
    # Means over buckets keep the pattern: angry peaks in the middle hour.
    peak_t = float(thin.sort("angry", descending=True)["t"][0])
    assert 1500 < peak_t < 2100
    smoothed = downsample(syn.smoothed(frames), 5000)
    figure = curves_figure(
        raw=thin, smoothed=smoothed, nonspeech=[], bursts=None, highlights=None, total_s=3600.0
    )
    assert max(len(trace.x) for trace in figure.data) <= 5000

    files = render_recording_report(
        layout=DataLayout(tmp_path),
        day=syn.DAY,
        recording_id=syn.RECORDING_ID,
        track=0,
        frames=frames,
        smoothed=syn.smoothed(frames),
        bursts=syn.bursts(3600.0),
        highlights=syn.highlights(3600.0),
        title="long.wav",
        model_id=syn.MODEL_ID,
    )
    assert files.html.stat().st_size < 3_000_000


def test_select_track_filters_and_sorts():
    both = pl.concat([syn.frames(2.0, track=1), syn.frames(3.0, track=0)]).reverse()
    one = select_track(both, syn.RECORDING_ID, 0)
    assert one["track"].unique().to_list() == [0]
    assert one.height == 150 and one["t_start"].is_sorted()


def test_unsafe_names_are_refused(tmp_path):
    with pytest.raises(ValueError):
        render_recording_report(
            layout=DataLayout(tmp_path),
            day="../escape",
            recording_id=syn.RECORDING_ID,
            track=0,
            frames=syn.frames(2.0),
            title="x",
            model_id=syn.MODEL_ID,
        )
    with pytest.raises(ValueError):
        render_recording_report(
            layout=DataLayout(tmp_path),
            day=syn.DAY,
            recording_id="../x",
            track=0,
            frames=syn.frames(2.0),
            title="x",
            model_id=syn.MODEL_ID,
        )
    assert not any(Path(tmp_path).rglob("*.html"))
