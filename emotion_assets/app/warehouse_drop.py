""" "Add to the warehouse": copy an analysed upload (and its sidecars) into raw/<date>/.

The raw_folder_sensor picks the day up from there (docs/app.md). Everything is checked before
the first byte is written: the day must be a partition, the names readable by the pipeline.
Raw files are never modified or replaced: the recording and all its sidecars get one stem that
no file of the day folder uses yet (call, call-2, call-3...), or the add is refused with one
sentence. The same recording with the same sidecars again is left as it is. Each file lands
atomically under a name nothing holds (hidden temp name, then a link that fails rather than
replace), so the sensor never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from emotion_assets.audio.ingest import is_candidate_name
from emotion_assets.audio.sidecars import SIDECAR_SUFFIXES as METADATA_SUFFIXES
from emotion_assets.foundation.atomic_files import atomic_path
from emotion_assets.foundation.day_range import outside_partitions
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.foundation.transcript_names import transcript_suffix

# Files that may travel with a recording: who spoke when, metadata, and transcripts.
SIDECAR_SUFFIXES: tuple[str, ...] = (".transcript.json", *METADATA_SUFFIXES)

# One add at a time in this process: choosing a free stem and writing it is one step.
_ADDING = threading.Lock()


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


def sidecar_suffix(name: str) -> str | None:
    """The suffix that ties a sidecar to its recording (call.transcript.json: .transcript.json)."""
    lower = name.lower()
    return transcript_suffix(name) or next((s for s in SIDECAR_SUFFIXES if lower.endswith(s)), None)


def owner_stem(name: str) -> str:
    """The stem of the recording a file of a day folder belongs to (call.rttm, call.mp3: call)."""
    suffix = sidecar_suffix(name)
    return name[: -len(suffix)] if suffix else Path(name).stem


def _same_bytes(a: Path, b: Path) -> bool:
    return a.is_file() and filecmp.cmp(a, b, shallow=False)


def _free_stem(names: Sequence[str], stem: str) -> str:
    """stem, stem-2, stem-3...: the first that no file of the folder belongs to (any case, as
    a case-insensitive file system and the pipeline's sidecar lookup see names)."""
    taken = {owner_stem(n).casefold() for n in names}
    candidate, n = stem, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def _copy_new(source: Path, target: Path) -> None:
    with atomic_path(target, replace=False) as tmp:
        shutil.copyfile(source, tmp)


def add_to_warehouse(
    layout: DataLayout,
    day: str,
    recording: Path,
    name: str,
    sidecars: Sequence[Path] = (),
    *,
    partitions: tuple[str, str],
) -> Dropped:
    """Copy `recording` as raw/<day>/<stem><ext> and each sidecar as raw/<day>/<stem><suffix>,
    one stem free for all of them; `partitions` = (first, last) partition key."""
    day = parse_day(day)
    if problem := outside_partitions(day, *partitions):
        raise DropRefused(f"Nothing was added: {problem}")
    clean = safe_file_name(name)
    if not is_candidate_name(clean):
        raise DropRefused(f"{clean!r} is not a name the pipeline reads as a recording.")
    suffixes = [sidecar_suffix(Path(s).name) for s in sidecars]
    for sidecar, suffix in zip(sidecars, suffixes, strict=True):
        if suffix is None:
            raise DropRefused(
                f"{Path(sidecar).name} is not a sidecar the pipeline reads "
                f"({', '.join(SIDECAR_SUFFIXES)})."
            )
    if len(set(suffixes)) != len(suffixes):
        raise DropRefused(f"Give at most one sidecar of each kind ({', '.join(SIDECAR_SUFFIXES)}).")
    folder = layout.resolve_inside(f"raw/{day}")
    with _ADDING:
        folder.mkdir(parents=True, exist_ok=True)
        names = [n for n in os.listdir(folder) if not n.startswith(".")]
        twin = next(
            (
                folder / n
                for n in sorted(names)
                if is_candidate_name(n) and _same_bytes(folder / n, recording)
            ),
            None,
        )
        if twin is not None:
            return _already_there(day, folder, twin, sidecars, suffixes)
        stem = _free_stem(names, Path(clean).stem)
        target = layout.resolve_inside(stem + Path(clean).suffix, base=folder)
        written: list[Path] = []
        try:
            # Sidecars first: when the sensor sees the recording, what describes it is there.
            for sidecar, suffix in zip(sidecars, suffixes, strict=True):
                side_target = layout.resolve_inside(f"{stem}{suffix}", base=folder)
                _copy_new(Path(sidecar), side_target)
                written.append(side_target)
            _copy_new(recording, target)
        except FileExistsError:  # another writer took the name meanwhile: undo ours, refuse
            for path in written:
                path.unlink(missing_ok=True)
            raise DropRefused(
                f"A file named {stem} appeared in raw/{day}/ while {clean} was being added; "
                "nothing was added, try again."
            ) from None
    return Dropped(day=day, recording=target, sidecars=tuple(written), already_there=False)


def _already_there(
    day: str, folder: Path, twin: Path, sidecars: Sequence[Path], suffixes: list[str | None]
) -> Dropped:
    """The same recording is in the day folder: fine when it has these very sidecars too."""
    stem = Path(twin.name).stem
    theirs = [folder / f"{stem}{suffix}" for suffix in suffixes]
    if not all(_same_bytes(t, Path(s)) for t, s in zip(theirs, sidecars, strict=True)):
        raise DropRefused(
            f"This recording is already in raw/{day}/ as {twin.name} with other sidecars; "
            "nothing was added, as raw files are never replaced."
        )
    return Dropped(day=day, recording=twin, sidecars=tuple(theirs), already_there=True)


def dagster_runs_url(ui_url: str, day: str) -> str:
    """The Dagster UI's run list filtered to the day's partition."""
    tag = quote(f"tag:dagster/partition={day}", safe="")
    return f"{ui_url.rstrip('/')}/runs?q%5B0%5D={tag}"
