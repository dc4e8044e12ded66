"""Where everything lives under the data directory, and the guard that keeps it there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class UnsafePathError(ValueError):
    """A name that would read or write outside the data directory."""


@dataclass(frozen=True)
class DataLayout:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    # --- folders -----------------------------------------------------------------
    @property
    def raw(self) -> Path:
        return self.root / "raw"

    def raw_day(self, day: str) -> Path:
        return self.raw / day

    def processed_day(self, day: str) -> Path:
        return self.root / "processed" / day

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    def clips_day(self, day: str) -> Path:
        return self.root / "clips" / day

    def reports_day(self, day: str) -> Path:
        return self.root / "reports" / day

    def embeddings_day(self, day: str) -> Path:
        return self.root / "embeddings" / day

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    # --- guards ------------------------------------------------------------------
    def relative(self, path: Path) -> str:
        """Path as stored in tables: relative to the data directory, POSIX separators."""
        return Path(path).resolve().relative_to(self.root).as_posix()

    def resolve_inside(self, name: str | Path, base: Path | None = None) -> Path:
        """Resolve `name` (relative to `base`, default the root) and refuse anything outside root.

        Absolute names and names that climb out with `..` or through a symlink are refused.
        """
        text = str(name)
        if not text or PurePosixPath(text).is_absolute() or Path(text).is_absolute():
            raise UnsafePathError(f"absolute or empty path refused: {text!r}")
        base = (base or self.root).resolve()
        candidate = (base / text).resolve()
        if not candidate.is_relative_to(self.root):
            raise UnsafePathError(f"path leaves the data directory: {text!r}")
        return candidate
