"""Shared helpers for the audio tests: where the shared audio is, and throwaway data dirs."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_AUDIO = Path(os.environ.get("EMOTION_SHARED_AUDIO") or REPO.parent / "shared" / "audio")
DAY = "2024-05-01"


def shared(rel: str) -> Path:
    path = SHARED_AUDIO / rel
    if not path.exists():
        pytest.fail(f"the shared recording is missing: {path} (set EMOTION_SHARED_AUDIO)")
    return path


def shared_files(*folders: str) -> list[Path]:
    """Every recording (not sidecar) in the given shared folders."""
    files = [
        p
        for f in folders
        for p in sorted((SHARED_AUDIO / f).glob("*"))
        if p.suffix not in (".rttm", ".json")
    ]
    if not files:
        pytest.fail(f"the shared recordings are missing under {SHARED_AUDIO}")
    return files


def make_day(root: Path, files: dict[str, Path | bytes | str], day: str = DAY) -> Path:
    """raw/<day>/ under root with copies of shared files (or given bytes/text) under new names."""
    day_dir = root / "raw" / day
    day_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = day_dir / name
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return day_dir


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every regular file below folder (links not followed), to prove nothing changed."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_symlink():
            out[path.relative_to(folder).as_posix()] = "link->" + os.readlink(path)
        elif path.is_dir():
            out[path.relative_to(folder).as_posix() + "/"] = "dir"
    return out
