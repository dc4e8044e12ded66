"""The index page of one day's reports: data/reports/<date>/index.html."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.files import report_stem, reports_dir
from emotion_assets.reports.palette import MEANINGLESS_WARNING, emotion_color, is_meaningless_model


def _num(value: object, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def render_day_index(
    layout: DataLayout, day: str, rows: Iterable[Mapping[str, object]] | pl.DataFrame
) -> Path:
    """Write index.html listing the day's recordings (one row per recording/track).

    Each row needs recording_id and track; title (or file_name), speaker, dominant_emotion
    (or top_emotion), confidence, duration_s and model_id are shown when present.
    """
    folder = reports_dir(layout, day)
    records = rows.to_dicts() if isinstance(rows, pl.DataFrame) else [dict(r) for r in rows]
    records.sort(
        key=lambda r: (
            str(r.get("title") or r.get("file_name") or ""),
            str(r["recording_id"]),
            int(r["track"]),
        )
    )
    body = []
    any_meaningless = False
    for r in records:
        stem = report_stem(str(r["recording_id"]), int(r["track"]))
        name = str(r.get("title") or r.get("file_name") or r["recording_id"])
        emotion = r.get("dominant_emotion") or r.get("top_emotion")
        any_meaningless |= is_meaningless_model(str(r.get("model_id") or ""))
        report = f"{stem}_report.html"
        thumb = f"{stem}_curves.png"
        link = (
            f"<a href='{report}'>{html.escape(name)}</a>"
            if (folder / report).exists()
            else f"{html.escape(name)} <span class='muted'>(no report)</span>"
        )
        picture = (
            f"<a href='{report}'><img src='{thumb}' alt='curves' loading='lazy'></a>"
            if (folder / thumb).exists()
            else ""
        )
        chip = (
            "–"
            if not emotion
            else (
                f"<span class='chip' style='background:{emotion_color(str(emotion))}'></span>"
                f"{html.escape(str(emotion))}"
            )
        )
        body.append(
            "<tr>"
            f"<td>{link}<div class='muted'>{html.escape(str(r['recording_id']))} · track "
            f"{int(r['track'])}</div></td>"
            f"<td>{html.escape(str(r.get('speaker') or '–'))}</td>"
            f"<td>{chip}</td><td>{_num(r.get('confidence'), '{:.2f}')}</td>"
            f"<td>{_num(r.get('duration_s'), '{:.0f} s')}</td><td>{picture}</td>"
            "</tr>"
        )
    warning = (
        f"<div class='warning'>Some reports: {html.escape(MEANINGLESS_WARNING)}</div>"
        if any_meaningless
        else ""
    )
    rows_html = "\n".join(body) or "<tr><td colspan='6'>No recordings this day.</td></tr>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Emotion reports {html.escape(day)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}}
table{{border-collapse:collapse}} th,td{{padding:6px 10px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}} img{{width:320px}} .muted{{color:#666;font-size:.85em}}
.chip{{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:6px}}
.warning{{background:#c0392b;color:#fff;font-weight:bold;padding:8px 12px;border-radius:6px}}
</style></head><body>
<h1>Emotion reports — {html.escape(day)}</h1>
<p class="muted">{len(records)} recording track(s). Open a name for its interactive report.</p>
{warning}
<table><thead><tr><th>recording</th><th>speaker</th><th>dominant</th><th>confidence</th>
<th>duration</th><th>curves</th></tr></thead><tbody>
{rows_html}
</tbody></table></body></html>
"""
    return write_bytes_atomically(folder / "index.html", page)
