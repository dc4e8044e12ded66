"""Which files beside a recording are transcripts, and which recording they belong to.

Kept free of heavy imports: the ingest's file scan asks these questions for every name. A
foundation module (imports nothing of ours): the audio ingest, the transcripts and the page ask it.
"""

from __future__ import annotations

# Longest first: "call.transcript.json" is a transcript, "call.json" is the metadata sidecar.
TRANSCRIPT_SUFFIXES: tuple[str, ...] = (".transcript.json", ".vtt", ".srt")


def transcript_suffix(name: str) -> str | None:
    """The transcript suffix `name` ends with (case-insensitive), else None."""
    lower = name.lower()
    return next((s for s in TRANSCRIPT_SUFFIXES if lower.endswith(s)), None)


def is_transcript_name(name: str) -> bool:
    return not name.startswith(".") and transcript_suffix(name) is not None


def recording_stem(name: str) -> str:
    """The stem of the recording a transcript sits beside: call.transcript.json -> call."""
    suffix = transcript_suffix(name)
    return name[: -len(suffix)] if suffix else name
