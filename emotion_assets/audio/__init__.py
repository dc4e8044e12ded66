"""Audio ingest core: probe, decode, VAD, sidecars and the tables of a day (no Dagster)."""
