"""Copy one prefix between the storage root and the local scratch folder (data_dir).

Steps run libraries that need local files (ffmpeg, soundfile, matplotlib): they read `pull`ed
copies and write under the scratch folder, then `push` publishes what they wrote. When the root
IS the scratch folder (the local default) both are no-ops, so one machine works as it always has.
Otherwise the scratch copies are a cache of the root: `prune_scratch` removes those no step has
used for `EMOTION_SCRATCH_KEEP_H` hours, so a worker's disk does not fill up with every day it
ever processed.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path

from emotion_assets.storage.store import Storage, check_key


def md5_of(path: Path) -> str:
    """Hex MD5 of a file: what S3 reports as the ETag of an object sent in one PUT."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _local_files(scratch: Path, prefix: str) -> dict[str, Path]:
    base = scratch / prefix
    if not base.is_dir():
        return {}
    return {
        p.relative_to(scratch).as_posix(): p
        for p in sorted(base.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(base).parts)
    }


# The prefixes steps mirror into scratch (data_dir also holds models/ and dagster_home/: kept).
MIRRORED_PREFIXES = ("raw", "processed", "embeddings", "clips", "reports", "lake")
# A pull walks the scratch tree to prune it at most this often per folder: a step pulls several
# prefixes, every run is its own process, and copies age in hours, not seconds. The time of the
# last walk is the mtime of a stamp in the folder, so every process on the machine shares it.
PRUNE_EVERY_S = 300.0
PRUNE_STAMP = ".pruned"


def _prune_due(scratch: Path) -> bool:
    try:
        return time.time() - (scratch / PRUNE_STAMP).stat().st_mtime >= PRUNE_EVERY_S
    except FileNotFoundError:
        return True


def prune_scratch(scratch: Path, keep_s: float, *, now: float | None = None) -> tuple[int, int]:
    """Remove mirrored copies not used for `keep_s` seconds; return (files, bytes) removed.

    Age is the file's mtime: a download sets it and Storage.local_copy refreshes it on every
    reuse, so a copy a step is about to read is never old. Empty folders go too.
    """
    cutoff = (time.time() if now is None else now) - keep_s
    files = removed = 0
    for name in MIRRORED_PREFIXES:
        base = Path(scratch) / name
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):  # children before their folders
            with contextlib.suppress(FileNotFoundError, OSError):
                if path.is_dir():
                    path.rmdir()  # only when empty
                elif (st := path.stat()).st_mtime < cutoff:
                    path.unlink()
                    files, removed = files + 1, removed + st.st_size
    return files, removed


def pull(storage: Storage, prefix: str, scratch: Path, *, exact: bool = True) -> list[str]:
    """Make scratch/prefix hold the objects under `prefix`; return their keys.

    `exact`: local files that have no object any more are removed from the scratch copy (a
    recording deleted from raw/ must not be ingested from an old copy).
    """
    scratch = Path(scratch).resolve()
    objects = storage.list(check_key(prefix.strip("/")))
    if storage.shares(scratch):
        return sorted(objects)
    keep_h = storage.settings.scratch_keep_h if storage.settings is not None else 0.0
    if keep_h > 0 and _prune_due(scratch):
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / PRUNE_STAMP).touch()  # first: a concurrent pull need not walk it too
        prune_scratch(scratch, keep_h * 3600)
    for key in objects:
        storage.local_copy(key, scratch)
    if exact:
        for key, path in _local_files(scratch, prefix).items():
            if key not in objects:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
    return sorted(objects)


def push(storage: Storage, prefix: str, scratch: Path, *, exact: bool = True) -> list[str]:
    """Publish scratch/prefix under `prefix`, one whole object per file; return the keys.

    Files whose object already has the same content (S3's ETag of a single PUT is the MD5) are
    not sent again. `exact`: objects with no local file any more (a clip no longer picked) are
    deleted, so the root holds exactly what the step produced.
    """
    scratch = Path(scratch).resolve()
    prefix = check_key(prefix.strip("/"))
    files = _local_files(scratch, prefix)
    if storage.shares(scratch):
        return sorted(files)
    remote = storage.list(prefix)
    for key, path in files.items():
        known = remote.get(key)
        if known is not None and not storage.is_local and known.version == md5_of(path):
            continue
        storage.put_file(key, path)
    if exact:
        for key in remote:
            if key not in files:
                storage.delete(key)
    return sorted(files)
