"""Shared storage: one root (a local folder or s3://bucket/prefix) for every artifact.

Pure code (no Dagster): `Storage.from_settings` builds the root from StorageSettings; `mirror`
copies a prefix between the root and the local scratch folder (data_dir) that libraries such as
ffmpeg and soundfile need. See docs/deploy.md "Storage".
"""

from emotion_assets.storage.mirror import prune_scratch, pull, push
from emotion_assets.storage.store import ObjectInfo, Storage, StorageError

__all__ = ["ObjectInfo", "Storage", "StorageError", "prune_scratch", "pull", "push"]
