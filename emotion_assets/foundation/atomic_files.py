"""Atomic file replacement (a foundation module: imports nothing of ours): write beside the target
under a temporary name, fsync, rename.

A reader (or a killed writer) sees either the old file or the new one, never a partial one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_SUFFIX = ".tmp"
# A DuckDB file built under a temp name may leave its write-ahead log beside it ("….tmp.wal").
_TMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp(\.wal)?$")


# Below this many free bytes a failed write is blamed on a full disk, whatever the library said
# (libsndfile reports ENOSPC as "System error.").
NEARLY_FULL_BYTES = 1 << 20


class DiskFullError(OSError):
    """A write failed because the file system is full; the message says where."""


def free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_full_error(exc: BaseException, target: Path) -> DiskFullError | None:
    """A DiskFullError naming `target` when `exc` was caused by a full disk, else None."""
    if isinstance(exc, DiskFullError):
        return exc
    free = free_bytes(Path(target).parent)
    by_errno = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if not by_errno and (free is None or free >= NEARLY_FULL_BYTES):
        return None
    left = f"{free:,} bytes" if free is not None else "no space"
    error = DiskFullError(
        f"The disk is full: {target} could not be written ({left} left on the file system of "
        f"{Path(target).parent}); free some space and run this day again."
    )
    error.errno = errno.ENOSPC  # str() stays the sentence (no "[Errno 28]" prefix)
    return error


def temp_name_for(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: Path, *, of: str | None = None) -> int:
    """Delete temp files left by writers that died (e.g. SIGKILL) in `folder`; with `of`, only
    the temps of the target with that name."""
    removed = 0
    prefix = "." if of is None else f".{of}."
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(prefix)]
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for entry in entries:
        match = _TMP_PATTERN.match(entry.name)
        if match and (of is None or match["name"] == of) and not _pid_alive(int(match["pid"])):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(target: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces `target` in one rename. With
    replace=False it only ever becomes a new file (a hard link, which fails with
    FileExistsError where `target` exists: raw input is never replaced)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # An earlier writer of this target killed mid-write (SIGKILL: no finally ran) left its temp.
    remove_stale_temps(target.parent, of=target.name)
    tmp = temp_name_for(target)
    try:
        try:
            yield tmp
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        except Exception as exc:
            if (full := disk_full_error(exc, target)) is not None and full is not exc:
                raise full from exc
            raise
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_atomically(target: Path, writer: Callable[[Path], None]) -> Path:
    """`writer(tmp)` fills a temporary file that then replaces `target` (see atomic_path)."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return target


def write_bytes_atomically(target: Path, data: bytes | str) -> Path:
    """`data` (str: UTF-8) as the whole new content of `target`, atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomically(Path(target), lambda tmp: tmp.write_bytes(payload))
