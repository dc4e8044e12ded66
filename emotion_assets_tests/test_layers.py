"""Layers point down only (issue 26, item 2): settings imports nothing of the domain, which adapts
settings (VadParams.from_settings, EngineConfig.from_settings), never the reverse. Every import
counts, also one inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "emotion_assets"
DOMAIN = {
    "analytics",
    "app",
    "audio",
    "defs",
    "engine",
    "quality",
    "reports",
    "storage",
    "transcripts",
    "warehouse",
}


def imported_parts(source: Path) -> dict[str, list[int]]:
    """The top-level parts of emotion_assets a file imports -> the lines that import them."""
    parts: dict[str, list[int]] = {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "emotion_assets":
                names += [f"emotion_assets.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            bits = name.split(".")
            if bits[0] == "emotion_assets" and len(bits) > 1:
                parts.setdefault(bits[1], []).append(node.lineno)
    return parts


def test_settings_import_nothing_of_the_domain() -> None:
    parts = imported_parts(PACKAGE / "settings.py")
    assert {part: lines for part, lines in parts.items() if part in DOMAIN} == {}


def test_the_file_helpers_are_a_foundation_that_imports_nothing_of_ours() -> None:
    # Atomic writes and DiskFullError serve every layer (audio, engine, reports, app, storage):
    # they sit below all of them, not in the warehouse.
    assert imported_parts(PACKAGE / "atomic_files.py") == {}
    assert not (PACKAGE / "warehouse" / "atomic.py").exists()  # no re-export left behind


def test_no_two_parts_import_each_other() -> None:
    # e.g. audio <-> transcripts (the day's ingest joins both: emotion_assets/day_ingest.py) and
    # storage <-> warehouse (the file helpers: emotion_assets/atomic_files.py).
    edges: dict[str, set[str]] = {}
    for source in PACKAGE.rglob("*.py"):
        relative = source.relative_to(PACKAGE).with_suffix("").parts
        me = relative[0]
        if me == "__init__":
            continue
        for part in imported_parts(source):
            if part not in (me, "__init__"):
                edges.setdefault(me, set()).add(part)
    both = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, set()))
    assert both == []
