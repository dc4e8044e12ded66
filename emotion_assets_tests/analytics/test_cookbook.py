"""Every SQL block of docs/analytics.md runs against views over a lake built by the analytics."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from emotion_assets.analytics import (
    cluster_embeddings,
    compare_recordings,
    emotion_timeline,
    find_bursts,
    find_highlights,
    recording_summary,
    smooth_frames,
    team_health,
)
from emotion_assets.analytics.segment_emotions import segment_emotions
from emotion_assets.contracts import TRANSCRIPT_SCHEMAS
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.warehouse.extensions import load_offline
from emotion_assets.warehouse.lake import write_partitions
from emotion_assets.warehouse.search import build_search_index
from emotion_assets.warehouse.views import view_sql
from emotion_assets_tests.analytics.frames import DAY, RID, build_frames, raw_recordings, steps

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
TAKE = "fedcba9876543210"


def sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def lake_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def search(warehouse, lake_root) -> duckdb.DuckDBPyConnection:
    """The full-text index the views' refresh builds (warehouse/search.py), opened read-only."""
    index = lake_root / "warehouse_search.duckdb"
    build_search_index(lake_root / "lake", index)
    con = duckdb.connect(str(index), read_only=True)
    load_offline(con, "fts")
    return con


@pytest.fixture(scope="module")
def warehouse(lake_root) -> duckdb.DuckDBPyConnection:
    root = lake_root
    n = 6000
    angry = steps((1000, 0.05), (300, 0.9), (4700, 0.05))
    happy = 0.2 + 0.1 * np.sin(np.arange(n) / 200)
    original = build_frames(n, {"angry": angry, "happy": happy})
    take = build_frames(
        n, {"angry": np.roll(angry, 15), "happy": np.roll(happy, 15)}, recording_id=TAKE
    )
    frames = pl.concat([original, take])
    recordings = raw_recordings(
        [
            {"recording_id": RID, "file_name": "original.wav", "team": "dubbing"},
            {"recording_id": TAKE, "file_name": "take.wav", "compare_with": "original.wav"},
        ]
    )
    rng = np.random.default_rng(0)
    embeddings = pl.DataFrame(
        {
            "recording_date": [DAY] * 6,
            "recording_id": [RID] * 6,
            "track": pl.Series([0] * 6, dtype=pl.Int32),
            "segment_idx": pl.Series(range(6), dtype=pl.Int32),
            "speaker": ["alice"] * 6,
            "t_start": np.arange(6.0),
            "t_end": np.arange(6.0) + 1,
            "embedding": pl.Series(rng.normal(size=(6, 8)).astype(np.float32)).cast(
                pl.Array(pl.Float32, 8)
            ),
            "model_id": ["m"] * 6,
        }
    )
    smoothed = smooth_frames(frames)
    segments, words = transcript()
    bursts = find_bursts(smoothed, transcript=segments)
    tables = {
        "raw_recordings": recordings,
        "smoothed_emotion_curves": smoothed,
        "recording_summary": recording_summary(frames, smoothed),
        "emotion_bursts": bursts,
        "emotion_highlights": find_highlights(smoothed, None, DataLayout(root), write_clips=False),
        "emotion_timeline": emotion_timeline(frames),
        "team_health": team_health(frames, smoothed, bursts, recordings),
        "emotion_comparisons": compare_recordings(smoothed, recordings),
        "emotion_embeddings": embeddings,
        "emotion_clusters": cluster_embeddings(embeddings, k=2),
        "transcript_segments": segments,
        "transcript_words": words,
        "segment_emotions": segment_emotions(frames, smoothed, segments, words),
    }
    con = duckdb.connect()
    for name, table in tables.items():
        write_partitions(root / "lake", name, [str(DAY)], table)
        con.execute(view_sql(root / "lake", name))
    return con


# The original's anger burst is frames 1000-1299 (20-26 s): the second sentence is said in it.
SENTENCES = [
    (2.0, 5.0, "Good morning, how can I help you?", ()),
    (
        20.5,
        25.0,
        "I want a refund, this is the third time!",
        ("I", "want", "a", "refund,", "this", "is", "the", "third", "time!"),
    ),
    (40.0, 44.0, "Your refund is on its way.", ()),
    (60.0, 63.0, "我要退款。", ()),
]


def transcript() -> tuple[pl.DataFrame, pl.DataFrame]:
    segments, words = [], []
    for idx, (t0, t1, text, tokens) in enumerate(SENTENCES):
        key = {"recording_date": DAY, "recording_id": RID, "track": 0, "segment_idx": idx}
        segments.append(
            {
                **key,
                "speaker": "alice",
                "speaker_source": "transcript",
                "t_start": t0,
                "t_end": t1,
                "text": text,
                "clipped": False,
                "source_file": "raw/x.vtt",
                "source_format": "webvtt",
                "encoding": "utf_8",
            }
        )
        step = (t1 - t0) / max(len(tokens), 1)
        for i, token in enumerate(tokens):
            words.append(
                {
                    **key,
                    "word_idx": i,
                    "speaker": "alice",
                    "t_start": t0 + i * step,
                    "t_end": t0 + (i + 1) * step,
                    "word": token,
                    "score": 0.9,
                    "source_file": "raw/x.json",
                }
            )
    return (
        pl.DataFrame(segments, schema=TRANSCRIPT_SCHEMAS["transcript_segments"]),
        pl.DataFrame(words, schema=TRANSCRIPT_SCHEMAS["transcript_words"]),
    )


def _run(con: duckdb.DuckDBPyConnection, block: str) -> list:
    # One statement at a time, as the DuckDB CLI runs them (a PRAGMA is bound before the
    # statements around it would run in one execute call).
    statements = [part for part in block.split(";\n") if part.strip()]
    for statement in statements[:-1]:
        con.execute(statement)
    return con.execute(statements[-1]).fetchall()


def test_the_doc_has_a_recipe_per_use_case():
    assert len(sql_blocks()) >= 10


@pytest.mark.parametrize("index", range(len(sql_blocks())))
def test_recipe_runs(warehouse, search, index):
    # The fixture warehouse holds an answer to every recipe's question; full-text search reads
    # the index file built beside it (docs/analytics.md).
    block = sql_blocks()[index]
    assert _run(search if "match_bm25" in block else warehouse, block), block


def test_recipes_find_what_the_data_holds(warehouse):
    blocks = sql_blocks()
    hotspots = warehouse.execute(blocks[0]).fetchall()
    assert [(r[1], r[2]) for r in hotspots] == [("alice", 2)]  # one burst in each recording
    late = warehouse.execute(next(b for b in blocks if "noticeably late" in b)).fetchall()
    assert {(r[0], r[2], r[3]) for r in late} >= {(TAKE, "angry", 0.3)}
    similar = warehouse.execute(blocks[-1]).fetchall()
    assert similar[0][3] == 0 and similar[0][7] == pytest.approx(1.0)


def test_transcript_recipes_find_what_was_said(warehouse):
    blocks = sql_blocks()
    angriest = warehouse.execute(next(b for b in blocks if "angriest sentences" in b)).fetchall()
    assert angriest[0][5] == "I want a refund, this is the third time!"
    said = warehouse.execute(next(b for b in blocks if "said most angrily" in b)).fetchall()
    assert {w for w, _ in said} == {
        "i",
        "want",
        "a",
        "refund",
        "this",
        "is",
        "the",
        "third",
        "time",
    }
    shifts = warehouse.execute(next(b for b in blocks if "sentence by sentence" in b)).fetchall()
    assert [r[2] for r in shifts] == [0, 1, 2, 3] and shifts[0][5] is None
    contains = warehouse.execute(next(b for b in blocks if "LIKE '%退款%'" in b)).fetchall()
    assert [r[3] for r in contains] == [s[2] for s in SENTENCES[1:]]


def test_full_text_search_finds_refund_sentences(search):
    block = next(b for b in sql_blocks() if "match_bm25" in b)
    found = _run(search, block)
    assert sorted(r[3] for r in found) == sorted(s[2] for s in SENTENCES[1:3])
