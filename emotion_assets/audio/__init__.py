"""Audio ingest core: probe, decode, VAD, sidecars and the partition-level tables (no Dagster)."""
