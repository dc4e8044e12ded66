"""A day's reports as the emotion_reports asset renders them: index columns and stats grid."""

from __future__ import annotations

import re

import polars as pl

from emotion_assets.analytics.smoothing import smooth_frames
from emotion_assets.analytics.summary import recording_summary
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.day import render_day
from emotion_assets_tests.reports import synthetic as syn


def _render(tmp_path, model_id: str = syn.MODEL_ID) -> tuple[DataLayout, pl.DataFrame]:
    layout = DataLayout(tmp_path / "data")
    frames = syn.frames(42.0, model_id=model_id)
    smoothed = smooth_frames(frames, window=5)
    key = {"recording_id": syn.RECORDING_ID, "track": 0}
    table = render_day(
        layout,
        syn.DAY,
        frames=frames,
        smoothed=smoothed,
        bursts=syn.bursts(42.0),
        highlights=syn.highlights(42.0).head(0),
        summary=recording_summary(frames, smoothed),
        utterances=pl.DataFrame(
            [{**key, "scope": "track", "top_emotion": "neutral", "confidence": 0.61}]
        ),
        recordings=pl.DataFrame([{**key, "file_name": "call.wav"}]).drop("track"),
    )
    return layout, table


def _cells(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", page)]


def test_the_index_shows_each_tracks_duration(tmp_path) -> None:
    layout, _ = _render(tmp_path)
    cells = _cells((layout.root / "reports" / syn.DAY / "index.html").read_text())
    assert "42 s" in cells  # was "–" for every row


def test_the_index_warns_about_a_meaningless_model(tmp_path) -> None:
    layout, _ = _render(tmp_path, model_id="tiny-random-emotion2vec")
    page = (layout.root / "reports" / syn.DAY / "index.html").read_text()
    assert "class='warning'" in page


def test_the_stats_grid_names_each_number_once(tmp_path) -> None:
    layout, table = _render(tmp_path)
    page = (layout.root / table["report_html"][0]).read_text()
    terms = re.findall(r"<dt>(.*?)</dt>", page)
    assert "duration" in terms and "speech" in terms
    assert not {"duration_s", "speech_s"} & set(terms)
    assert len(terms) == len(set(terms))
