"""Pictures and reports of one day's emotion time series (pure: no Dagster).

Per recording/track: a curves PNG, a heat-map PNG and an interactive offline HTML report under
data/reports/<date>/, plus an index page per day and a helper that embeds a PNG in Markdown.
The names below are imported on first use: loading the code location must not pay for
matplotlib, which only the report step needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emotion_assets.lazy_exports import lazy_exports

_EXPORTS = {
    "EMOTION_COLORS": "palette",
    "ReportFiles": "render",
    "emotion_color": "palette",
    "is_meaningless_model": "palette",
    "markdown_image": "markdown",
    "render_day_index": "day_index",
    "render_recording_report": "render",
}
__all__ = [
    "EMOTION_COLORS",
    "ReportFiles",
    "emotion_color",
    "is_meaningless_model",
    "markdown_image",
    "render_day_index",
    "render_recording_report",
]

if TYPE_CHECKING:
    from emotion_assets.reports.day_index import render_day_index
    from emotion_assets.reports.markdown import markdown_image
    from emotion_assets.reports.palette import EMOTION_COLORS, emotion_color, is_meaningless_model
    from emotion_assets.reports.render import ReportFiles, render_recording_report


__getattr__ = lazy_exports(__name__, _EXPORTS)
