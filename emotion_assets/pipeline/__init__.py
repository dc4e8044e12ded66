"""A day or one file end to end, without Dagster: the ingest of a day (audio + transcripts), what
changed in the raw folder, and one recording's outputs folder. The Dagster assets and the CLI
call these; they compose the rooms below (audio, transcripts, engine, storage)."""
