"""Transcript sidecars (WebVTT, SubRip, whisperX / faster-whisper and funasr JSON) as tables.

Pure: no Dagster. `names` (which files are transcripts), `formats` (parsing and decoding),
`validate` (times against the recording), `partition` (a day's tables). Nothing is imported
here, so the ingest's file scan can use `names` without loading the engine. See
docs/transcripts.md.
"""
