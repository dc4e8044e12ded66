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


def storage_snapshot(storage: Storage) -> dict[str, DaySnapshot]:
    """`snapshot` of raw/ on the storage root: a folder's stat, or one listing of an S3 prefix
    (size and ETag per object; the ETag changes whenever the content does)."""
    if storage.local_root is not None:
        return snapshot(storage.local_root / "raw")
    days: dict[str, DaySnapshot] = {}
    for key, info in storage.list("raw").items():
        parts = key.split("/")  # raw/<day>/<file>: files directly in a day folder, as locally
        if len(parts) == 3 and is_day_folder(parts[1]):
            days.setdefault(parts[1], {})[parts[2]] = (info.size, info.version)
    return days


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

    def to_json(self) -> str:
        return json.dumps({"seen": self.seen, "requested": self.requested}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> WatchState:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(seen=dict(data.get("seen", {})), requested=dict(data.get("requested", {})))

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


def plan_runs(state: WatchState, current: dict[str, DaySnapshot]) -> Plan:
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
    return Plan(run_days, waiting, WatchState(seen=now, requested=requested))


def previous_day(moment: dt.datetime) -> str:
    """The partition a daily schedule tick at `moment` (in the schedule's zone) should run."""
    return (moment.date() - dt.timedelta(days=1)).isoformat()
