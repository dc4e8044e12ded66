"""What changed under data/raw/: the pure logic behind the raw-folder sensor.

A day is requested when its folder looks the same on two consecutive looks (so a file still
being copied waits) and differs from what was last requested (new, changed or removed files).
With no memory of earlier looks (the sensor's first tick), "last requested" is the fingerprint
that each day's last ingest recorded in its metadata, so days already processed from the same
files are not run again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emotion_assets.storage import Storage

FileSig = tuple[int, int | str]  # (size, mtime_ns) locally, (size, ETag) on object storage
DaySnapshot = dict[str, FileSig]

# Metadata key of raw_recordings' materializations: {day: fingerprint of the files ingested}.
FINGERPRINTS_METADATA_KEY = "raw_fingerprints"


def is_day_folder(name: str) -> bool:
    try:
        return dt.date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


# Dates spelled otherwise (2025-3-15, 2025_03_15, 20250315): the message names the right folder.
_LOOSE_DATE = re.compile(r"(\d{4})[-_.](\d{1,2})[-_.](\d{1,2})|(\d{4})(\d{2})(\d{2})")


def ignored_entry_message(entry: str) -> str:
    """Why an entry directly under raw/ is not processed, in one sentence.

    `entry` is a name from `raw_listing`'s second list: "name/" for a folder, "name" for a file.
    """
    if not entry.endswith("/"):
        return f"data/raw/{entry} is ignored: recordings go in a day folder, data/raw/YYYY-MM-DD/."
    name = entry[:-1]
    loose = _LOOSE_DATE.fullmatch(name)
    if loose:
        try:
            day = dt.date(*(int(g) for g in loose.groups() if g)).isoformat()
        except ValueError:
            return (
                f"data/raw/{name}/ is ignored: {name} is not a calendar date "
                "(day folders are named YYYY-MM-DD)."
            )
        return (
            f"data/raw/{name}/ is ignored: day folders are named YYYY-MM-DD; "
            f"rename it to {day}/ to have its files processed."
        )
    return (
        f"data/raw/{name}/ is ignored: its name is not a date (day folders are named YYYY-MM-DD)."
    )


def day_snapshot(day_dir: Path) -> DaySnapshot:
    """Size and mtime of every visible file in one day folder (empty if there is none)."""
    files: DaySnapshot = {}
    if not day_dir.is_dir():
        return files
    for entry in sorted(day_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        try:
            stat = entry.lstat()
        except FileNotFoundError:  # removed while we looked
            continue
        files[entry.name] = (stat.st_size, stat.st_mtime_ns)
    return files


def snapshot(raw_dir: Path) -> dict[str, DaySnapshot]:
    """Size and mtime of every visible file in each data/raw/YYYY-MM-DD/ folder."""
    if not raw_dir.is_dir():
        return {}
    return {
        day_dir.name: day_snapshot(day_dir)
        for day_dir in sorted(raw_dir.iterdir())
        if day_dir.is_dir() and is_day_folder(day_dir.name)
    }


def not_day_entries(raw_dir: Path) -> list[str]:
    """Visible entries directly in data/raw/ that no run reads: "name/" for a folder whose name
    is not a date, "name" for a file outside any day folder."""
    if not raw_dir.is_dir():
        return []
    return [
        f"{entry.name}/" if entry.is_dir() else entry.name
        for entry in sorted(raw_dir.iterdir())
        if not entry.name.startswith(".") and not (entry.is_dir() and is_day_folder(entry.name))
    ]


def raw_listing(storage: Storage) -> tuple[dict[str, DaySnapshot], list[str]]:
    """`snapshot` of raw/ on the storage root (a folder's stat, or one listing of an S3 prefix:
    size and ETag per object; the ETag changes whenever the content does), and the entries
    under raw/ that it leaves out (`not_day_entries`)."""
    if storage.local_root is not None:
        raw = storage.local_root / "raw"
        return snapshot(raw), not_day_entries(raw)
    days: dict[str, DaySnapshot] = {}
    others: set[str] = set()
    for key, info in storage.list("raw").items():
        parts = key.split("/")  # raw/<day>/<file>: files directly in a day folder, as locally
        if len(parts) == 2:
            others.add(parts[1])
        elif not is_day_folder(parts[1]):
            others.add(f"{parts[1]}/")
        elif len(parts) == 3:
            days.setdefault(parts[1], {})[parts[2]] = (info.size, info.version)
    return days, sorted(others)


def storage_snapshot(storage: Storage) -> dict[str, DaySnapshot]:
    """The day folders of `raw_listing`."""
    return raw_listing(storage)[0]


def storage_day_fingerprint(storage: Storage, day: str) -> str:
    """The fingerprint of raw/<day>/ on the storage root, as the sensor computes it."""
    if storage.local_root is not None:
        return fingerprint(day_snapshot(storage.local_root / "raw" / day))
    return fingerprint(storage_snapshot(storage).get(day, {}))


def fingerprint(files: DaySnapshot) -> str:
    return hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()[:16]


@dataclass
class WatchState:
    seen: dict[str, str] = field(default_factory=dict)  # day -> fingerprint at the last look
    requested: dict[str, str] = field(default_factory=dict)  # day -> fingerprint last requested
    ignored: list[str] = field(default_factory=list)  # not_day_entries already reported

    def to_json(self) -> str:
        data = {"seen": self.seen, "requested": self.requested, "ignored": self.ignored}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> WatchState:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            seen=dict(data.get("seen", {})),
            requested=dict(data.get("requested", {})),
            ignored=list(data.get("ignored", [])),  # cursors written before it had none
        )

    @classmethod
    def from_materialized(cls, fingerprints: dict[str, str]) -> WatchState:
        """The first look (no cursor): a day already processed from the same files is done.

        `fingerprints` maps day -> the fingerprint of the files its last run ingested; a day
        whose files differ (or that was never processed) is requested once its files settle.
        """
        return cls(requested=dict(fingerprints))


@dataclass(frozen=True)
class Plan:
    run_days: list[tuple[str, str]]  # (day, fingerprint)
    waiting_days: list[str]  # changed since the last look: files may still be arriving
    state: WatchState
    newly_ignored: list[str] = field(default_factory=list)  # not_day_entries to report now


def plan_runs(
    state: WatchState, current: dict[str, DaySnapshot], not_days: list[str] | None = None
) -> Plan:
    """What to run, given the last state and the day folders now; `not_days` (the entries
    under raw/ that are not day folders) are reported once each, while they stay there."""
    now = {day: fingerprint(files) for day, files in current.items() if files}
    run_days, waiting = [], []
    requested = dict(state.requested)
    for day, fp in sorted(now.items()):
        if requested.get(day) == fp:
            continue
        if state.seen.get(day) != fp:
            waiting.append(day)
            continue
        run_days.append((day, fp))
        requested[day] = fp
    ignored = sorted(set(not_days or ()))
    newly = [entry for entry in ignored if entry not in state.ignored]
    return Plan(
        run_days, waiting, WatchState(seen=now, requested=requested, ignored=ignored), newly
    )


def previous_day(moment: dt.datetime) -> str:
    """The partition a daily schedule tick at `moment` (in the schedule's zone) should run."""
    return (moment.date() - dt.timedelta(days=1)).isoformat()
