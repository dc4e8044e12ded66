"""Where report files go, the shared plotly.js, and relative links."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from emotion_assets.foundation.atomic_files import write_bytes_atomically
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.reports.html_report import PLOTLY_JS_NAME
from emotion_assets.storage.tracks import track_stem

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def reports_dir(layout: DataLayout, day: str) -> Path:
    if not _DAY.match(day):
        raise ValueError(f"day must look like YYYY-MM-DD, got {day!r}")
    return layout.resolve_inside(f"reports/{day}")


def report_stem(recording_id: str, track: int) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", recording_id) or recording_id.startswith("."):
        raise ValueError(f"recording_id is not a safe file name: {recording_id!r}")
    return track_stem(recording_id, track)


def ensure_plotly_js(directory: Path) -> Path:
    """plotly.min.js beside the reports (offline: no CDN); rewritten only if it differs."""
    from plotly.offline import get_plotlyjs

    script = get_plotlyjs().encode("utf-8")
    target = directory / PLOTLY_JS_NAME
    if not target.exists() or target.stat().st_size != len(script):
        write_bytes_atomically(target, script)
    return target


def relative_url(target: Path, start: Path) -> str:
    """URL of `target` relative to directory `start` (POSIX, percent-encoded)."""
    return quote(Path(os.path.relpath(target, start)).as_posix())
