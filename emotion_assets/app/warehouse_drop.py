""" "Add to the warehouse": copy an analysed upload (and its sidecars) into raw/<date>/.

The raw_folder_sensor picks the day up from there (docs/app.md). Everything is checked before
the first byte is written; each file lands atomically (hidden temp name, then rename), so the
sensor never sees half a file. An existing recording is never overwritten: the same bytes are
left as they are, different bytes under the same name get a -2, -3... suffix.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from emotion_assets.audio.ingest import is_candidate_name
from emotion_assets.layout import DataLayout
from emotion_assets.warehouse.atomic import atomic_path

# Files that may travel with a recording: who spoke when, metadata, and transcripts.
SIDECAR_SUFFIXES = (".rttm", ".json", ".srt", ".vtt")


class DropRefused(ValueError):
    """The copy was refused; the message says why in one sentence."""


@dataclass(frozen=True)
class Dropped:
    day: str
    recording: Path
    sidecars: tuple[Path, ...]
    already_there: bool


def parse_day(text: str) -> str:
    """A recording date YYYY-MM-DD (the partition key), or DropRefused."""
    text = (text or "").strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise DropRefused(f"The recording date must look like 2024-06-03, not {text!r}.") from None


def safe_file_name(name: str) -> str:
    """The base name of an upload, reduced to characters safe in every file system."""
    base = Path(str(name).replace("\\", "/")).name
    clean = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")
    return clean or "recording"


def _free_name(folder: Path, name: str, source: Path) -> tuple[str, bool]:
    """(name to use, True when identical bytes already sit there under that name)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = name, 1
    while (folder / candidate).exists():
        if filecmp.cmp(folder / candidate, source, shallow=False):
            return candidate, True
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate, False


def _copy_atomic(source: Path, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def add_to_warehouse(
    layout: DataLayout,
    day: str,
    recording: Path,
    name: str,
    sidecars: Sequence[Path] = (),
) -> Dropped:
    """Copy `recording` as raw/<day>/<name> and each sidecar as raw/<day>/<stem><suffix>."""
    day = parse_day(day)
    clean = safe_file_name(name)
    if not is_candidate_name(clean):
        raise DropRefused(f"{clean!r} is not a name the pipeline reads as a recording.")
    suffixes = [Path(s).suffix.lower() for s in sidecars]
    for sidecar, suffix in zip(sidecars, suffixes, strict=True):
        if suffix not in SIDECAR_SUFFIXES:
            raise DropRefused(
                f"{Path(sidecar).name} is not a sidecar the pipeline reads "
                f"({', '.join(SIDECAR_SUFFIXES)})."
            )
    if len(set(suffixes)) != len(suffixes):
        raise DropRefused("Give at most one sidecar of each kind (.rttm, .json, .srt, .vtt).")
    folder = layout.resolve_inside(f"raw/{day}")
    folder.mkdir(parents=True, exist_ok=True)
    final, already = _free_name(folder, clean, recording)
    target = layout.resolve_inside(final, base=folder)
    stem = Path(final).stem
    written = []
    # Sidecars first: when the sensor sees the recording, what describes it is already there.
    for sidecar, suffix in zip(sidecars, suffixes, strict=True):
        side_target = layout.resolve_inside(f"{stem}{suffix}", base=folder)
        _copy_atomic(Path(sidecar), side_target)
        written.append(side_target)
    if not already:
        _copy_atomic(recording, target)
    return Dropped(day=day, recording=target, sidecars=tuple(written), already_there=already)


def dagster_runs_url(ui_url: str, day: str) -> str:
    """The Dagster UI's run list filtered to the day's partition."""
    tag = quote(f"tag:dagster/partition={day}", safe="")
    return f"{ui_url.rstrip('/')}/runs?q%5B0%5D={tag}"
