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


def test_the_foundation_imports_nothing_of_ours_but_itself() -> None:
    # Atomic writes, the data layout, the labels serve every layer (audio, engine, reports, app,
    # storage): they sit below all of them, settings included.
    for source in (PACKAGE / "foundation").glob("*.py"):
        assert set(imported_parts(source)) <= {"foundation"}, source.name
    assert not (PACKAGE / "warehouse" / "atomic.py").exists()  # no re-export left behind


def test_developer_servers_and_tests_are_not_product_code() -> None:
    """Issue 26, item 3: the test servers (devstack/) and the tests do not ship in the wheel,
    and no product module imports them."""
    from setuptools import find_packages

    root = PACKAGE.parent
    shipped = set(find_packages(str(root), include=["emotion_assets", "emotion_assets.*"]))
    assert "emotion_assets.cli" in shipped and "emotion_assets.foundation" in shipped
    assert not {p for p in shipped if not p.startswith("emotion_assets.") and p != "emotion_assets"}
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'include = ["emotion_assets", "emotion_assets.*"]' in text
    for source in PACKAGE.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                assert not any(
                    n.split(".")[0] in ("devstack", "emotion_assets_tests") for n in names
                ), source


def test_pipeline_and_deployment_import_no_dagster() -> None:
    for part in ("pipeline", "deployment", "foundation"):
        for source in (PACKAGE / part).glob("*.py"):
            tree = ast.parse(source.read_text(encoding="utf-8"))
            modules = {
                n.module.split(".")[0]
                for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.module
            } | {
                a.name.split(".")[0]
                for n in ast.walk(tree)
                if isinstance(n, ast.Import)
                for a in n.names
            }
            assert "dagster" not in modules, source


def test_no_two_parts_import_each_other() -> None:
    # e.g. audio <-> transcripts (the day's ingest joins both: emotion_assets/pipeline/ingest_day.py) and
    # storage <-> warehouse (the file helpers: emotion_assets/foundation/atomic_files.py).
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
