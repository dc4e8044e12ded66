"""How much of a cue's text people are shown: the report's list and hover, the burst and
highlight "said" cells, the Dagster UI's most emotional sentences.

The tables (transcript_segments, segment_emotions, emotion_bursts, ...) keep the whole text; a
page shows at most MAX_SHOWN_TEXT_CHARS of it per cue, so a 1 MiB cue cannot make a report of
megabytes.
"""

from __future__ import annotations

MAX_SHOWN_TEXT_CHARS = 300
ELLIPSIS = "…"


def shown_text(text: str) -> str:
    """`text` cut to MAX_SHOWN_TEXT_CHARS characters, an ellipsis marking the cut."""
    if len(text) <= MAX_SHOWN_TEXT_CHARS:
        return text
    return text[: MAX_SHOWN_TEXT_CHARS - len(ELLIPSIS)].rstrip() + ELLIPSIS
