"""k-means over the partition's speech-segment embeddings (emotion_embeddings.embedding).

A day larger than `cluster_fit_segments` segments is fitted on a sample of them and assigned a
group of recordings at a time (`cluster_day`), so memory stays bounded whatever the day's size.

Embeddings are L2-normalised first (setting cluster_normalize), so Euclidean k-means groups by
direction, the same notion as the cosine similarity of the "moments like this one" recipe.
k is reduced to the number of distinct embeddings when there are fewer. Clusters are numbered
by size (0 = largest; ties by first appearance), so numbers are stable across identical runs.
distance_to_centroid is the Euclidean distance in the (normalised) space.
Segments whose embedding holds NaN or ±Inf (a damaged input the ingest did not catch) are left
out, so k-means never sees them and no NaN reaches the table.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from emotion_assets.analytics.common import empty
from emotion_assets.contracts import CLUSTERS_SCHEMA, conform
from emotion_assets.foundation.work_units import recording_groups, rows_of

KEY = ["recording_id", "track", "segment_idx"]


def _vectors(embeddings: pl.DataFrame, normalize: bool) -> tuple[pl.DataFrame, np.ndarray]:
    """The rows with a finite embedding, in key order, and their (normalised) vectors."""
    rows = embeddings.filter(pl.col("embedding").is_not_null()).sort(KEY)
    if rows.is_empty():
        return rows, np.zeros((0, 0))
    column = rows["embedding"]
    if isinstance(column.dtype, pl.List):  # a scan of the Delta table keeps lists: one width
        column = column.cast(pl.Array(column.dtype.inner, int(column.list.len().max())))
    x = np.asarray(column.to_numpy(), dtype=np.float64).reshape(rows.height, -1)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        rows, x = rows.filter(pl.Series(finite)), x[finite]
    if normalize and len(x):
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)
    return rows, x


def _fit(x: np.ndarray, k: int, random_state: int):
    from sklearn.cluster import KMeans  # here: scikit-learn takes seconds to import

    n_clusters = max(1, min(k, len(np.unique(x, axis=0))))
    return KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit(x)


def _assigned(rows: pl.DataFrame, x: np.ndarray, model) -> pl.DataFrame:
    """The rows' keys with their (not yet renumbered) cluster and distance to its centroid."""
    labels = model.predict(x) if len(x) else np.zeros(0, dtype=np.int32)
    distance = np.linalg.norm(x - model.cluster_centers_[labels], axis=1)
    return rows.with_columns(
        pl.Series("cluster", labels, dtype=pl.Int32),
        pl.Series("distance_to_centroid", distance, dtype=pl.Float64),
    ).select(list(CLUSTERS_SCHEMA))  # the embeddings stay behind


def _numbered(assigned: pl.DataFrame, n_clusters: int) -> pl.DataFrame:
    """Clusters renumbered by size (largest first), ties by first appearance in key order."""
    labels = assigned["cluster"].to_numpy()
    sizes = np.bincount(labels, minlength=n_clusters)
    first = np.array(
        [
            hits[0] if len(hits := np.flatnonzero(labels == c)) else len(labels)
            for c in range(n_clusters)
        ]
    )
    order = np.lexsort((first, -sizes))
    renumber = np.empty(n_clusters, dtype=np.int32)
    renumber[order] = np.arange(n_clusters, dtype=np.int32)
    out = assigned.with_columns(pl.Series("cluster", renumber[labels], dtype=pl.Int32))
    return conform(out, CLUSTERS_SCHEMA)


def cluster_embeddings(
    embeddings: pl.DataFrame, k: int = 4, *, random_state: int = 0, normalize: bool = True
) -> pl.DataFrame:
    """Table `emotion_clusters` from emotion_embeddings (one row per segment)."""
    rows, x = _vectors(embeddings, normalize)
    if rows.is_empty():
        return empty(CLUSTERS_SCHEMA)
    model = _fit(x, k, random_state)
    return _numbered(_assigned(rows, x, model), model.n_clusters)


def cluster_day(
    embeddings: pl.LazyFrame,
    k: int = 4,
    *,
    random_state: int = 0,
    normalize: bool = True,
    fit_segments: int = 100_000,
    limit_s: float = 7200.0,
) -> pl.DataFrame:
    """`cluster_embeddings` over a scan of the day's embeddings, in bounded memory: k-means is
    fitted on at most ~`fit_segments` segments (a fixed pseudo-random sample by key; all of them
    when the day has no more, which gives exactly cluster_embeddings' table), then every
    segment is assigned to its nearest centroid a group of recordings (`limit_s` of audio) at
    a time."""
    n = embeddings.select(pl.len()).collect().item()
    if n <= fit_segments:
        return cluster_embeddings(
            embeddings.collect(), k, random_state=random_state, normalize=normalize
        )
    sampled = embeddings.filter(pl.struct(KEY).hash(random_state) % n < fit_segments)
    rows, x = _vectors(sampled.collect(), normalize)
    if rows.is_empty():
        return empty(CLUSTERS_SCHEMA)
    model = _fit(x, k, random_state)
    del rows, x
    parts = [
        _assigned(*_vectors(rows_of(embeddings, ids), normalize), model)
        for ids in recording_groups(embeddings, limit_s)
    ]
    return _numbered(pl.concat(parts), model.n_clusters)
