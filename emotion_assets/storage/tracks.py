"""Per-track derived files, and removing those of tracks a day no longer has.

Every file a step derives from one track is named after it, `<recording_id>_t<track>` then `.`
or `_` (processed/<day>/…wav, embeddings/<day>/…npy, clips/<day>/…_intensity_1.wav,
reports/<day>/…_report.html). When a recording is deleted or replaced and its day re-run, its
rows leave the tables; `remove_other_tracks` removes its files too, from the storage root and
from the local scratch copy, so deleted audio does not survive in derived files.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from emotion_assets.storage.store import Storage, check_key

if TYPE_CHECKING:
    import polars as pl

# recording_id = the first 16 hex characters of the file's sha256 (audio.probe).
_TRACK_FILE = re.compile(r"^(?P<stem>[0-9a-f]{16}_t\d+)(?:[._]|$)")


def track_stem(recording_id: str, track: int) -> str:
    """The name every per-track file starts with."""
    return f"{recording_id}_t{int(track)}"


def track_stems(table: pl.DataFrame) -> set[str]:
    """The stems of a table's (recording_id, track) rows."""
    rows = table.select("recording_id", "track").iter_rows()
    return {track_stem(recording_id, track) for recording_id, track in rows}


def stem_of(name: str) -> str | None:
    """The track stem a file name starts with; None for files that belong to no track
    (index.html, plotly.min.js, a person's notes): those are never removed here."""
    match = _TRACK_FILE.match(name)
    return match["stem"] if match else None


def remove_other_tracks(
    storage: Storage, prefix: str, scratch: Path, keep: Collection[str]
) -> list[str]:
    """Delete the per-track files directly under `prefix` whose stem is not in `keep`, from the
    root and from scratch/prefix; return the keys removed.

    Call it after the step has written (and published) what it produced: each deletion is one
    unlink or DeleteObject, so a reader never sees a half-removed file, and a step that failed
    before this point removed nothing. Only `prefix` is touched (one day's folder).
    """
    prefix = check_key(prefix.strip("/"))
    keep = set(keep)

    def stale(key: str) -> bool:
        rest = PurePosixPath(key).relative_to(prefix)
        stem = stem_of(rest.name) if len(rest.parts) == 1 else None
        return stem is not None and stem not in keep

    removed = sorted(key for key in storage.list(prefix) if stale(key))
    for key in removed:
        storage.delete(key)
    folder = Path(scratch).resolve() / prefix
    if not storage.shares(scratch) and folder.is_dir():
        for path in sorted(folder.iterdir()):
            key = f"{prefix}/{path.name}"
            if path.is_file() and not path.name.startswith(".") and stale(key):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                if key not in removed:
                    removed.append(key)
    return removed
