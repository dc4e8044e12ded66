from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from emotion_assets.analytics.clusters import CLUSTERS_SCHEMA, cluster_day, cluster_embeddings

DIM = 16


def embeddings_table(vectors: np.ndarray) -> pl.DataFrame:
    n = len(vectors)
    return pl.DataFrame(
        {
            "recording_date": [dt.date(2024, 3, 5)] * n,
            "recording_id": ["r" * 16] * n,
            "track": pl.Series([0] * n, dtype=pl.Int32),
            "segment_idx": pl.Series(range(n), dtype=pl.Int32),
            "speaker": [None] * n,
            "t_start": np.arange(n, dtype=float),
            "t_end": np.arange(n, dtype=float) + 1,
            "embedding": pl.Series(vectors.astype(np.float32)).cast(pl.Array(pl.Float32, DIM)),
            "model_id": ["m"] * n,
        }
    )


def separable(sizes: list[int], seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), DIM)) * 5
    groups = np.repeat(np.arange(len(sizes)), sizes)
    return centres[groups] + rng.normal(scale=0.05, size=(len(groups), DIM)), groups


def test_separable_groups_are_recovered_and_numbered_by_size():
    vectors, groups = separable([12, 8, 5])
    out = cluster_embeddings(embeddings_table(vectors), k=3)
    assert adjusted_rand_score(groups, out["cluster"].to_numpy()) == pytest.approx(1.0)
    assert out.group_by("cluster").len().sort("cluster")["len"].to_list() == [12, 8, 5]
    assert out["distance_to_centroid"].max() < 0.1  # tight groups on the unit sphere
    assert dict(out.schema) == CLUSTERS_SCHEMA


def test_k_is_reduced_to_the_number_of_samples_and_runs_repeat():
    vectors, _ = separable([1, 1])
    out = cluster_embeddings(embeddings_table(vectors), k=4)
    assert sorted(out["cluster"].to_list()) == [0, 1]
    assert out["distance_to_centroid"].to_list() == pytest.approx([0.0, 0.0], abs=1e-9)
    many, _ = separable([10, 10, 10, 10], seed=3)
    first = cluster_embeddings(embeddings_table(many), k=4, random_state=7)
    assert first.equals(cluster_embeddings(embeddings_table(many), k=4, random_state=7))


def test_empty_input():
    empty = embeddings_table(np.zeros((0, DIM)))
    out = cluster_embeddings(empty)
    assert out.is_empty() and dict(out.schema) == CLUSTERS_SCHEMA


def test_find_moments_like_this_one_recipe_runs_in_duckdb(tmp_path):
    import duckdb

    from emotion_assets.warehouse.lake import write_partitions
    from emotion_assets.warehouse.views import view_sql

    vectors, groups = separable([5, 5])
    lake = tmp_path / "lake"
    write_partitions(lake, "emotion_embeddings", ["2024-03-05"], embeddings_table(vectors))
    con = duckdb.connect()
    con.execute(view_sql(lake, "emotion_embeddings"))  # the warehouse's view: FLOAT[D]
    # The recipe in docs/analytics.md, with the reference moment = segment 0.
    rows = con.execute(
        """
        SELECT e.recording_id, e.segment_idx,
               array_cosine_similarity(e.embedding, (
                   SELECT embedding FROM emotion_embeddings
                   WHERE recording_id = ? AND track = 0 AND segment_idx = 0)) AS similarity
        FROM emotion_embeddings e
        ORDER BY similarity DESC
        LIMIT 5
    """,
        ["r" * 16],
    ).fetchall()
    assert [r[1] for r in rows][0] == 0
    assert {r[1] for r in rows} == set(np.flatnonzero(groups == 0).tolist())


def test_non_finite_embeddings_are_left_out_not_crashing_kmeans():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(8, DIM))
    vectors[2, 5] = np.nan
    vectors[6, 0] = np.inf
    out = cluster_embeddings(embeddings_table(vectors), k=2)
    assert sorted(out["segment_idx"].to_list()) == [0, 1, 3, 4, 5, 7]
    assert out["distance_to_centroid"].is_finite().all()
    all_bad = np.full((3, DIM), np.nan)
    assert cluster_embeddings(embeddings_table(all_bad), k=2).is_empty()


def _many_recordings(vectors: np.ndarray, per_recording: int = 25) -> pl.DataFrame:
    """The segments spread over recordings of `per_recording` segments, 1 s each."""
    table = embeddings_table(vectors)
    index = pl.int_range(pl.len())
    return table.with_columns(
        pl.format("rec{}", (index // per_recording).cast(pl.String).str.zfill(4)).alias(
            "recording_id"
        ),
        (index % per_recording).cast(pl.Int32).alias("segment_idx"),
        (index % per_recording).cast(pl.Float64).alias("t_start"),
    ).with_columns((pl.col("t_start") + 1).alias("t_end"))


def test_a_large_day_is_fitted_on_a_sample_and_assigned_by_groups():
    vectors, groups = separable([120, 80, 50], seed=4)
    order = np.random.default_rng(0).permutation(len(groups))  # blobs mixed across recordings
    table = _many_recordings(vectors[order])
    whole = cluster_embeddings(table, k=3)
    # ~60 of 250 segments fitted, recordings assigned 2 at a time (50 s of audio a group)
    out = cluster_day(table.lazy(), k=3, fit_segments=60, limit_s=50.0)
    assert out.height == table.height and dict(out.schema) == CLUSTERS_SCHEMA
    assert adjusted_rand_score(groups[order], out["cluster"].to_numpy()) == pytest.approx(1.0)
    assert out.group_by("cluster").len().sort("cluster")["len"].to_list() == [120, 80, 50]
    assert out.select("recording_id", "segment_idx", "cluster").equals(
        whole.select("recording_id", "segment_idx", "cluster")
    )
    assert out["distance_to_centroid"].max() < 0.1


def test_a_day_within_the_sample_size_is_clustered_whole():
    vectors, _ = separable([10, 7], seed=5)
    table = _many_recordings(vectors, per_recording=4)
    # As a scan of the Delta table gives them: lists, not fixed-size arrays.
    lists = table.with_columns(pl.col("embedding").cast(pl.List(pl.Float32))).lazy()
    assert cluster_day(lists, k=2, fit_segments=17, limit_s=4.0).equals(
        cluster_embeddings(table, k=2)
    )
    assert cluster_day(lists, k=2, fit_segments=5, limit_s=4.0).height == table.height
