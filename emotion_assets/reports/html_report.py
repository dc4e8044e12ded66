"""The interactive HTML report of one recording/track (plotly; works offline, no CDN)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import polars as pl

from emotion_assets.reports.palette import (
    MEANINGLESS_WARNING,
    MUTED_EMOTIONS,
    NONSPEECH_COLOR,
    emotion_color,
)
from emotion_assets.reports.series import SCORES
from emotion_assets.transcripts.shown import shown_text

PLOTLY_JS_NAME = "plotly.min.js"
CURVES_DIV_ID = "emotion-curves"


@dataclass(frozen=True)
class AudioClip:
    src: str | None  # URL relative to the report, None when the path was refused
    exists: bool


def _f32(values: pl.Series) -> np.ndarray:
    # float32 keeps the embedded (base64) arrays half the size; nulls become gaps (NaN).
    return values.cast(pl.Float32).fill_null(np.nan).to_numpy()


def _rectangles(spans: Sequence[tuple[float, float]], y1: float = 1.0):
    """x/y of closed rectangles separated by gaps: one filled trace however many spans."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for t0, t1 in spans:
        xs += [t0, t0, t1, t1, t0, None]
        ys += [0.0, y1, y1, 0.0, 0.0, None]
    return xs, ys


def curves_figure(
    *,
    raw: pl.DataFrame,
    smoothed: pl.DataFrame | None,
    nonspeech: Sequence[tuple[float, float]],
    bursts: pl.DataFrame | None,
    highlights: pl.DataFrame | None,
    total_s: float,
    transcript: pl.DataFrame | None = None,
) -> go.Figure:
    fig = go.Figure()
    if nonspeech:
        xs, ys = _rectangles(nonspeech, 1.05)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                fill="toself",
                mode="none",
                fillcolor=NONSPEECH_COLOR,
                opacity=0.3,
                name="non-speech",
                hoverinfo="skip",
            )
        )
    if bursts is not None and bursts.height:
        for emotion, group in bursts.group_by("emotion", maintain_order=True):
            xs, ys = _rectangles(list(zip(group["t_start"], group["t_end"], strict=True)), 1.05)
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    fill="toself",
                    mode="none",
                    fillcolor=emotion_color(emotion[0]),
                    opacity=0.15,
                    legendgroup=f"burst-{emotion[0]}",
                    name=f"{emotion[0]} burst",
                    hoverinfo="skip",
                )
            )

    have_smooth = smoothed is not None and smoothed.height > 0
    for emotion in SCORES:
        colour = emotion_color(emotion)
        dash = "dash" if emotion in MUTED_EMOTIONS else "solid"
        if have_smooth:
            fig.add_trace(
                go.Scatter(
                    x=_f32(raw["t"]),
                    y=_f32(raw[emotion]),
                    mode="lines",
                    legendgroup=emotion,
                    showlegend=False,
                    line={"color": colour, "width": 0.7},
                    opacity=0.25,
                    hoverinfo="skip",
                    name=f"{emotion} (raw)",
                )
            )
        source = smoothed if have_smooth else raw
        fig.add_trace(
            go.Scatter(
                x=_f32(source["t"]),
                y=_f32(source[emotion]),
                mode="lines",
                name=emotion,
                legendgroup=emotion,
                line={"color": colour, "width": 2 if have_smooth else 1.4, "dash": dash},
                hovertemplate="%{y:.2f}",
            )
        )

    if bursts is not None and bursts.height:
        mids = ((bursts["t_start"] + bursts["t_end"]) / 2).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=mids,
                y=bursts["peak"].to_numpy(),
                mode="markers",
                name="burst peaks",
                marker={
                    "symbol": "triangle-down",
                    "size": 11,
                    "color": [emotion_color(e) for e in bursts["emotion"]],
                    "line": {"color": "black", "width": 1},
                },
                text=[
                    f"{b['emotion']} burst {b['t_start']:.1f}–{b['t_end']:.1f} s, peak {b['peak']:.2f}"
                    for b in bursts.iter_rows(named=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if highlights is not None and highlights.height:
        rows = list(highlights.iter_rows(named=True))
        fig.add_trace(
            go.Scatter(
                x=[(h["t_start"] + h["t_end"]) / 2 for h in rows],
                y=[
                    min(float(h["score"]), 1.0) if h.get("score") is not None else 0.95
                    for h in rows
                ],
                mode="markers+text",
                name="highlights",
                text=[f"#{h['rank']}" for h in rows],
                textposition="top center",
                marker={
                    "symbol": "star",
                    "size": 16,
                    "color": [emotion_color(h.get("dominant_emotion") or "") for h in rows],
                    "line": {"color": "black", "width": 1},
                },
                customdata=[
                    f"highlight #{h['rank']} by {h.get('rank_by', '')}: {h.get('dominant_emotion')} "
                    f"{h['t_start']:.1f}–{h['t_end']:.1f} s"
                    for h in rows
                ],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )

    have_transcript = transcript is not None and transcript.height > 0
    if have_transcript:
        _add_transcript_lane(fig, transcript, raw)

    fig.update_layout(
        height=540,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        hovermode="x unified",
        template="plotly_white",
        legend={"orientation": "v"},
        xaxis={"title": "time (s)", "range": [0, max(total_s, 1.0)], "hoverformat": ".1f"},
        yaxis={"title": "score", "range": [LANE_BOTTOM if have_transcript else 0, 1.1]},
    )
    return fig


# The transcript lane sits under the curves (negative y) on the same time axis.
LANE_TOP, LANE_BOTTOM = -0.04, -0.3
TRANSCRIPT_DIV_ID = "transcript"


def _sentence_labels(rows: pl.DataFrame) -> list[str]:
    """'speaker: text' of each sentence, the text cut to what a page shows (shown_text)."""
    return [
        f"{r['speaker'] + ': ' if r.get('speaker') else ''}{shown_text(r['text'])}"
        for r in rows.iter_rows(named=True)
    ]


def _sentence_index(rows: pl.DataFrame, times: np.ndarray) -> list[int]:
    """Per time, the row of the sentence being said (the last one started before it; -1
    when none is)."""
    starts, ends = rows["t_start"].to_numpy(), rows["t_end"].to_numpy()
    idx = np.searchsorted(starts, times, side="right") - 1
    return [
        i if i >= 0 and t < ends[i] else -1
        for i, t in zip(idx.tolist(), times.tolist(), strict=True)
    ]


def sentence_at(transcript: pl.DataFrame, times: np.ndarray) -> list[str]:
    """The sentence being said at each time ('' when none): the last one started before it."""
    rows = transcript.sort("t_start")
    labels = _sentence_labels(rows)
    return [labels[i] if i >= 0 else "" for i in _sentence_index(rows, times)]


def _add_transcript_lane(fig: go.Figure, transcript: pl.DataFrame, raw: pl.DataFrame) -> None:
    """One rectangle per sentence (coloured by its top emotion), and a hover-only trace that
    puts the sentence being said into the unified hover of the curves."""
    ordered = transcript.sort("t_start")
    rows = list(ordered.iter_rows(named=True))
    by_emotion: dict[str, list[dict]] = {}
    for r in rows:
        by_emotion.setdefault(r.get("top_emotion") or "", []).append(r)
    for emotion, group in by_emotion.items():
        xs, ys = [], []
        for r in group:
            xs += [r["t_start"], r["t_start"], r["t_end"], r["t_end"], r["t_start"], None]
            ys += [LANE_BOTTOM, LANE_TOP, LANE_TOP, LANE_BOTTOM, LANE_BOTTOM, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                fill="toself",
                mode="lines",
                line={"color": "#888", "width": 0.5},
                fillcolor=emotion_color(emotion) if emotion else "#ccc",
                opacity=0.5,
                name="transcript",
                legendgroup="transcript",
                showlegend=emotion == next(iter(by_emotion)),
                hoverinfo="skip",
            )
        )
    # Each sentence is in the figure once (the trace's meta); a point names its sentence by
    # index, so the page does not grow with text x points.
    times = raw["t"].to_numpy() if raw.height else np.array([])
    fig.add_trace(
        go.Scatter(
            x=times,
            y=np.full(times.shape[0], (LANE_TOP + LANE_BOTTOM) / 2),
            mode="markers",
            marker={"size": 1, "opacity": 0},
            name="said",
            legendgroup="transcript",
            showlegend=False,
            meta=_sentence_labels(ordered),
            hovertemplate=[
                f"%{{meta[{i}]}}" if i >= 0 else "–" for i in _sentence_index(ordered, times)
            ],
        )
    )


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f"<p class='muted'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chip(emotion: str | None) -> str:
    if not emotion:
        return "–"
    colour = emotion_color(emotion)
    return f"<span class='chip' style='background:{colour}'></span>{html.escape(emotion)}"


def _secs(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
 max-width:1200px;color:#222;padding:0 16px}
h1{font-size:1.4em;margin:0 0 4px} h2{font-size:1.1em;margin-top:28px}
.meta,.muted{color:#666;font-size:.9em}
.warning{background:#c0392b;color:#fff;font-weight:bold;padding:10px 14px;border-radius:6px;
 margin:12px 0;font-size:1.1em}
.headline{display:flex;gap:28px;align-items:baseline;margin:16px 0;padding:14px 18px;
 background:#f6f6f6;border-radius:8px}
.headline .big{font-size:2em;font-weight:bold}
.chip{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:6px}
table{border-collapse:collapse;font-size:.92em} th,td{padding:4px 10px;border-bottom:1px solid #ddd;
 text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.7em;border-radius:2px}
dl.nums{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:6px 18px}
dl.nums dt{color:#666;font-size:.85em} dl.nums dd{margin:0 0 6px;font-weight:600}
img.pic{max-width:100%;border:1px solid #eee}
ol.transcript{list-style:none;padding:0;max-height:360px;overflow-y:auto;border:1px solid #eee}
ol.transcript li{padding:4px 10px;cursor:pointer;border-bottom:1px solid #f0f0f0}
ol.transcript li:hover,ol.transcript li.now{background:#fff6d6}
ol.transcript .when{color:#666;font-variant-numeric:tabular-nums;margin-right:8px}
"""

# Click a sentence (or anywhere on the curves): play the recording from there; the sentence
# being played is marked.
_PLAYER_JS = f"""<script>
(function() {{
  var audio = document.getElementById('recording');
  var items = document.querySelectorAll('#{TRANSCRIPT_DIV_ID} li');
  function play(t) {{ audio.currentTime = t; audio.play(); }}
  items.forEach(function(li) {{
    li.addEventListener('click', function() {{ play(parseFloat(li.dataset.t)); }});
  }});
  audio.addEventListener('timeupdate', function() {{
    items.forEach(function(li) {{
      var on = audio.currentTime >= parseFloat(li.dataset.t) &&
               audio.currentTime < parseFloat(li.dataset.end);
      li.classList.toggle('now', on);
    }});
  }});
  var plot = document.getElementById('{CURVES_DIV_ID}');
  if (plot && plot.on) {{
    plot.on('plotly_click', function(ev) {{ if (ev.points.length) play(ev.points[0].x); }});
  }}
}})();
</script>"""


def _said(text: str | None) -> str:
    return "<span class='muted'>–</span>" if not text else f"“{html.escape(shown_text(text))}”"


def _transcript_section(transcript: pl.DataFrame | None, audio_src: str | None) -> str:
    if transcript is None or transcript.is_empty():
        return ""
    player = (
        f"<audio id='recording' controls preload='none' src='{html.escape(audio_src, quote=True)}'>"
        "</audio>"
        if audio_src
        else "<p class='muted'>(the normalized audio is missing: no player)</p>"
    )
    items = []
    for r in transcript.sort("t_start").iter_rows(named=True):
        speaker = f"<b>{html.escape(r['speaker'])}</b>: " if r.get("speaker") else ""
        emotion = _chip(r.get("top_emotion")) if r.get("top_emotion") else ""
        items.append(
            f"<li data-t='{r['t_start']:.3f}' data-end='{r['t_end']:.3f}'>"
            f"<span class='when'>{_secs(r['t_start'])}</span>{emotion} {speaker}"
            f"{html.escape(shown_text(r['text']))}</li>"
        )
    return (
        "<h2>Transcript</h2><p class='muted'>The lane under the curves is the transcript; hover "
        "the curves to read the sentence being said; click a sentence (or the curves) to play "
        f"from there.</p>{player}<ol class='transcript' id='{TRANSCRIPT_DIV_ID}'>"
        + "".join(items)
        + "</ol>"
    )


def report_html(
    *,
    page_title: str,
    meta_line: str,
    meaningless: bool,
    dominant: str | None,
    confidence: float | None,
    numbers: Mapping[str, object],
    figure: go.Figure,
    means: pl.DataFrame,
    bursts: pl.DataFrame | None,
    highlights: pl.DataFrame | None,
    clips: Sequence[AudioClip],
    heatmap_src: str,
    curves_src: str,
    transcript: pl.DataFrame | None = None,
    audio_src: str | None = None,
) -> str:
    """The page: headline (dominant emotion, confidence), curves, then the details."""
    plot_div = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=CURVES_DIV_ID,
        default_height="540px",
        config={"displaylogo": False, "responsive": True},
    )
    warning = (
        f"<div class='warning'>{html.escape(MEANINGLESS_WARNING)}</div>" if meaningless else ""
    )
    conf = f"{confidence:.2f}" if confidence is not None else "–"
    number_items = "".join(
        f"<div><dt>{html.escape(str(k))}</dt><dd>{html.escape(_fmt(v))}</dd></div>"
        for k, v in numbers.items()
    )

    mean_rows = []
    for row in means.sort("mean_score", descending=True, nulls_last=True).iter_rows(named=True):
        score = row["mean_score"]
        width = 0 if score is None else round(200 * score)
        bar = f"<span class='bar' style='width:{width}px;background:{emotion_color(row['emotion'])}'></span>"
        mean_rows.append(
            [
                _chip(row["emotion"]),
                _fmt(score),
                bar,
                _fmt(None if row["top_share"] is None else round(100 * row["top_share"], 1)),
            ]
        )

    burst_rows = []
    if bursts is not None:
        for b in bursts.sort("t_start").iter_rows(named=True):
            burst_rows.append(
                [
                    _chip(b["emotion"]),
                    _secs(b["t_start"]),
                    _secs(b["t_end"]),
                    f"{b['t_end'] - b['t_start']:.1f} s",
                    f"{b['peak']:.2f}",
                    _said(b.get("text")),
                ]
            )

    highlight_rows = []
    if highlights is not None:
        for h, clip in zip(highlights.iter_rows(named=True), clips, strict=True):
            if clip.src is None:
                player = "<span class='muted'>clip path refused</span>"
            else:
                src = html.escape(clip.src, quote=True)
                player = f"<audio controls preload='none' src='{src}'></audio>"
                if not clip.exists:
                    player += " <span class='muted'>(clip file missing)</span>"
            score = h.get("score")
            highlight_rows.append(
                [
                    html.escape(str(h.get("rank_by", ""))),
                    f"#{h['rank']}",
                    f"{_secs(h['t_start'])}–{_secs(h['t_end'])}",
                    _chip(h.get("dominant_emotion")),
                    "–" if score is None else f"{score:.2f}",
                    _said(h.get("text")),
                    player,
                ]
            )

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page_title)}</title>
<style>{_CSS}</style>
<script src="{PLOTLY_JS_NAME}"></script>
</head><body>
<h1>{html.escape(page_title)}</h1>
<div class="meta">{html.escape(meta_line)}</div>
{warning}
<div class="headline">
 <div><div class="muted">dominant emotion</div><div class="big">{_chip(dominant)}</div></div>
 <div><div class="muted">confidence</div><div class="big">{conf}</div></div>
</div>
<dl class="nums">{number_items}</dl>
<h2>Emotions over time</h2>
<p class="muted">Hover for the nine scores at a moment; drag to zoom, double-click to reset;
click a legend entry to hide it. Grey: no speech. Tinted spans and ▼: bursts. ★: highlights.</p>
{plot_div}
{_transcript_section(transcript, audio_src)}
<h2>Mean score per emotion (speech frames)</h2>
{_table(["emotion", "mean score", "", "top in % of frames"], mean_rows, "no frames")}
<h2>Bursts</h2>
{_table(["emotion", "start", "end", "length", "peak", "said"], burst_rows, "no bursts")}
<h2>Highlights</h2>
{
        _table(
            ["ranked by", "rank", "time", "dominant", "score", "said", "listen"],
            highlight_rows,
            "no highlights",
        )
    }
{_PLAYER_JS if audio_src else ""}
<h2>Heat map</h2>
<img class="pic" src="{html.escape(heatmap_src, quote=True)}" alt="emotion heat map" loading="lazy">
<p class="muted"><a href="{
        html.escape(curves_src, quote=True)
    }">static picture of the curves</a></p>
</body></html>
"""
