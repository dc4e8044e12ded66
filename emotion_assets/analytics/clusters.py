"""k-means over the partition's speech-segment embeddings (emotion_embeddings.embedding).

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


def cluster_embeddings(
    embeddings: pl.DataFrame, k: int = 4, *, random_state: int = 0, normalize: bool = True
) -> pl.DataFrame:
    """Table `emotion_clusters` from emotion_embeddings (one row per segment)."""
    if embeddings.is_empty():
        return empty(CLUSTERS_SCHEMA)
    rows = embeddings.filter(pl.col("embedding").is_not_null())
    if rows.is_empty():
        return empty(CLUSTERS_SCHEMA)
    rows = rows.sort("recording_id", "track", "segment_idx")
    x = np.asarray(rows["embedding"].to_numpy(), dtype=np.float64).reshape(rows.height, -1)
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        rows, x = rows.filter(pl.Series(finite)), x[finite]
        if rows.is_empty():
            return empty(CLUSTERS_SCHEMA)
    if normalize:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)
    n_clusters = max(1, min(k, len(np.unique(x, axis=0))))
    from sklearn.cluster import KMeans  # here: scikit-learn takes seconds to import

    model = KMeans(n_clusters=n_clusters, random_state=random_state, n_init=10).fit(x)
    labels = model.labels_
    # Renumber by size (largest first), ties by first appearance.
    sizes = np.bincount(labels, minlength=n_clusters)
    first = np.array([np.flatnonzero(labels == c)[0] for c in range(n_clusters)])
    order = np.lexsort((first, -sizes))
    renumber = np.empty(n_clusters, dtype=np.int32)
    renumber[order] = np.arange(n_clusters, dtype=np.int32)
    distance = np.linalg.norm(x - model.cluster_centers_[labels], axis=1)
    out = rows.with_columns(
        pl.Series("cluster", renumber[labels], dtype=pl.Int32),
        pl.Series("distance_to_centroid", distance, dtype=pl.Float64),
    )
    return conform(out, CLUSTERS_SCHEMA)
