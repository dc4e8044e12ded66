"""Pictures and reports of one day's emotion time series (pure: no Dagster).

Per recording/track: a curves PNG, a heat-map PNG and an interactive offline HTML report under
data/reports/<date>/, plus an index page per day and a helper that embeds a PNG in Markdown.
"""

from emotion_assets.reports.day_index import render_day_index
from emotion_assets.reports.markdown import markdown_image
from emotion_assets.reports.palette import EMOTION_COLORS, emotion_color, is_meaningless_model
from emotion_assets.reports.render import ReportFiles, render_recording_report

__all__ = [
    "EMOTION_COLORS",
    "ReportFiles",
    "emotion_color",
    "is_meaningless_model",
    "markdown_image",
    "render_day_index",
    "render_recording_report",
]
