"""Issue 26 item 6: every command and table the README, the Makefile's help and the docs name
works as written, and every SQL block of the README and the cookbook answers on a demo day."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from emotion_assets.cli.demo import copy_samples, default_day
from emotion_assets.defs.in_process import run_day
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import load_settings
from emotion_assets.warehouse.extensions import load_offline

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
COOKBOOK = REPO / "docs" / "analytics.md"
MAKEFILE = REPO / "Makefile"
DOCS = sorted((REPO / "docs").glob("*.md"))


def sql_blocks(path: Path) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", path.read_text(), flags=re.S)


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", MAKEFILE.read_text(), flags=re.M))


def named_tables(text: str) -> set[str]:
    """Names after FROM / JOIN (not a subquery, not a function call)."""
    return {
        name
        for name in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)\b(?!\s*\()", text)
        if name not in {"ref", "best", "c", "sentences"}  # the cookbook's CTEs and search table
    }


WHERE_DOCS_NAME_MAKE = [README, *DOCS]


@pytest.mark.parametrize("doc", WHERE_DOCS_NAME_MAKE, ids=lambda p: p.name)
def test_every_make_target_the_docs_name_exists(doc: Path) -> None:
    named = set(re.findall(r"(?:`|^)make ([a-z][\w-]*)", doc.read_text(), flags=re.M))
    assert named <= make_targets(), f"{doc.name} names missing targets: {named - make_targets()}"


def test_the_readme_links_to_pages_that_exist() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README.read_text())
    missing = [link for link in links if not (REPO / link).exists()]
    assert links and not missing, missing


def test_the_docs_index_lists_every_docs_page() -> None:
    index = (REPO / "docs" / "README.md").read_text()
    unlisted = [p.name for p in DOCS if p.name != "README.md" and f"]({p.name})" not in index]
    assert not unlisted, unlisted


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory, tiny_model_dir: Path):
    """What `make demo` does, with the tiny model: the samples in today's folder, one run."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("demo") / "data"
    mp.setenv("EMOTION_DATA_DIR", str(root))
    mp.setenv("EMOTION_MODEL", str(tiny_model_dir))
    mp.setenv("EMOTION_THREADS", "1")
    day = default_day(load_settings().storage)
    copy_samples(DataLayout(root), day)
    outcome = run_day(root, day, instance=DagsterInstance.ephemeral())
    assert outcome["success"]
    yield root
    mp.undo()


def _views(root: Path) -> set[str]:
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()


def _run(root: Path, block: str) -> list:
    """One statement at a time, as the DuckDB CLI runs them; full-text search reads its index."""
    search = "match_bm25" in block
    path = root / ("warehouse_search.duckdb" if search else "warehouse.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        if search:
            load_offline(con, "fts")
        statements = [part for part in block.split(";\n") if part.strip()]
        for statement in statements[:-1]:
            con.execute(statement)
        return con.execute(statements[-1]).fetchall()
    finally:
        con.close()


DOC_SQL = [(doc, i) for doc in (README, COOKBOOK) for i in range(len(sql_blocks(doc)))]


@pytest.mark.slow
@pytest.mark.parametrize("doc,index", DOC_SQL, ids=[f"{d.name}-{i}" for d, i in DOC_SQL])
def test_every_sql_block_answers_on_the_demo_day(demo_day: Path, doc: Path, index: int) -> None:
    block = sql_blocks(doc)[index]
    assert _run(demo_day, block), f"no rows on the demo day:\n{block}"


def _make_sql_queries() -> list[str]:
    return re.findall(r'make sql Q="([^"]+)"', README.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("query", _make_sql_queries())
def test_the_readmes_make_sql_commands_answer_on_the_demo_day(demo_day: Path, query: str) -> None:
    # The Makefile's recipe for `make sql Q=...`, on the demo day's data directory.
    done = subprocess.run(
        [sys.executable, "-m", "emotion_assets.cli", "sql", query],
        env={**os.environ, "EMOTION_DATA_DIR": str(demo_day)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip(), done.stderr


@pytest.mark.slow
def test_every_table_the_readme_the_makefile_help_and_the_cookbook_name_exists(
    demo_day: Path,
) -> None:
    helps = "\n".join(re.findall(r"##(.*)$", MAKEFILE.read_text(), flags=re.M))
    named = (
        named_tables(helps) | named_tables(README.read_text()) | named_tables(COOKBOOK.read_text())
    )
    assert named and named <= _views(demo_day), named - _views(demo_day)
