"""The full-text index beside the warehouse: built when segment_emotions changes, not per search."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import polars as pl

from emotion_assets.contracts import TABLE_SCHEMAS
from emotion_assets.foundation.atomic_files import temp_name_for
from emotion_assets.warehouse.lake import partition_file, write_partitions
from emotion_assets.warehouse.search import (
    COLUMNS,
    connect_search,
    ensure_search_index,
    search_file,
)
from emotion_assets.warehouse.views import ensure_views
from emotion_assets_tests.warehouse.dead_writer import as_dead_writers

SEARCH = (
    "SELECT recording_id, text FROM (SELECT *, fts_main_sentences.match_bm25(sentence_id, ?) "
    "AS score FROM sentences) WHERE score IS NOT NULL ORDER BY score DESC"
)


def _sentences(day: str, texts: list[str], rid: str = "0123456789abcdef") -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "recording_date": [dt.date.fromisoformat(day)] * n,
            "recording_id": [rid] * n,
            "track": pl.Series([0] * n, dtype=pl.Int32),
            "scope": ["segment"] * n,
            "segment_idx": pl.Series(range(n), dtype=pl.Int32),
            "word_idx": pl.Series([None] * n, dtype=pl.Int32),
            "speaker": ["alice"] * n,
            "t_start": [float(i) for i in range(n)],
            "t_end": [float(i) + 1 for i in range(n)],
            "text": texts,
            "top_emotion": ["angry"] * n,
            "angry": [0.5] * n,
            "emotional_share": [0.3] * n,
        }
    )


def _search(warehouse: Path, word: str) -> list[tuple[str, str]]:
    con = connect_search(warehouse)
    try:
        return con.execute(SEARCH, [word]).fetchall()
    finally:
        con.close()


def test_index_is_built_once_and_follows_new_days(tmp_path: Path):
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    write_partitions(
        lake,
        "segment_emotions",
        ["2024-03-04"],
        _sentences("2024-03-04", ["I want a refund now.", "Thanks for calling."]),
    )
    assert ensure_search_index(lake, wh) is True
    assert search_file(wh).exists()
    assert ensure_search_index(lake, wh) is False  # nothing changed: no rebuild
    assert [t for _, t in _search(wh, "refund")] == ["I want a refund now."]
    write_partitions(
        lake,
        "segment_emotions",
        ["2024-03-05"],
        _sentences("2024-03-05", ["Refunds take a week.", "Goodbye."], rid="fedcba9876543210"),
    )
    assert ensure_search_index(lake, wh) is True
    found = _search(wh, "refund")  # stemming: refunds matches too
    assert sorted(t for _, t in found) == ["I want a refund now.", "Refunds take a week."]


def test_a_rewritten_day_replaces_its_sentences_in_the_index(tmp_path: Path):
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    write_partitions(
        lake, "segment_emotions", ["2024-03-04"], _sentences("2024-03-04", ["The parcel is late."])
    )
    ensure_search_index(lake, wh)
    reader = connect_search(wh)  # a reader of the old index keeps its answers
    write_partitions(
        lake, "segment_emotions", ["2024-03-04"], _sentences("2024-03-04", ["The parcel arrived."])
    )
    assert ensure_search_index(lake, wh) is True
    assert reader.execute(SEARCH, ["late"]).fetchall() == [
        ("0123456789abcdef", "The parcel is late.")
    ]
    # a new connection opens the new file (DuckDB shares one open database per path within a
    # process, so the old reader is closed first)
    reader.close()
    assert _search(wh, "late") == []
    assert [t for _, t in _search(wh, "arrived")] == ["The parcel arrived."]


def test_view_refresh_builds_the_index_only_when_segment_emotions_is_written(tmp_path: Path):
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    other = pl.DataFrame({"recording_date": [dt.date(2024, 3, 4)], "recording_id": ["x"]})
    written = write_partitions(lake, "raw_recordings", ["2024-03-04"], other)
    ensure_views(lake, wh, written={"raw_recordings": written})
    assert not search_file(wh).exists()
    written = write_partitions(
        lake, "segment_emotions", ["2024-03-04"], _sentences("2024-03-04", ["Cancel my order."])
    )
    ensure_views(lake, wh, written={"segment_emotions": written})
    assert [t for _, t in _search(wh, "cancel")] == ["Cancel my order."]


def test_a_failed_index_build_leaves_the_views_and_says_why(tmp_path: Path, caplog):
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    # a segment_emotions day without a text column cannot be indexed
    bad = _sentences("2024-03-04", ["x"]).drop("text")
    written = write_partitions(lake, "segment_emotions", ["2024-03-04"], bad)
    with caplog.at_level(logging.ERROR):
        assert ensure_views(lake, wh, written={"segment_emotions": written}) == ["segment_emotions"]
    assert "full-text index of segment_emotions could not be rebuilt" in caplog.text
    assert partition_file(lake, "segment_emotions", "2024-03-04").exists()


def test_the_index_keeps_columns_that_segment_emotions_has() -> None:
    # COLUMNS is a chosen subset, not derived: a column renamed or dropped in the contract must
    # fail here rather than in the first refresh over a real lake.
    schema = TABLE_SCHEMAS["segment_emotions"]
    assert set(COLUMNS) | {"scope", "text"} <= set(schema), set(COLUMNS) - set(schema)
    assert schema["text"] == pl.String and schema["scope"] == pl.String


def test_an_index_half_built_by_a_killed_process_is_swept_by_the_next_build(tmp_path: Path):
    lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    ours = temp_name_for(search_file(wh))  # a live builder's: not to be touched
    orphan = as_dead_writers(ours)
    orphan_wal = orphan.with_name(orphan.name + ".wal")
    for path in (ours, orphan, orphan_wal):
        path.write_bytes(b"DUCK")
    write_partitions(lake, "segment_emotions", ["2024-03-04"], _sentences("2024-03-04", ["Hi."]))
    assert ensure_search_index(lake, wh) is True
    assert not orphan.exists() and not orphan_wal.exists() and ours.exists()
