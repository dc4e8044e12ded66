"""Cue times checked against the recording: what is kept, clipped or left out, and why.

Rules (docs/transcripts.md): a cue with a negative time, an end before (or at) its start, no
text, or a start at/after the recording's end is left out; one reaching past the end is cut at
the end; one starting before the previous cue of the same speaker has ended is kept (crosstalk
and ASR overlaps are common) but reported. Each rule yields one sentence with a count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from emotion_assets.transcripts.formats import Cue, Word

# Cue times are rounded to milliseconds by their writers; overshoots this small are not problems.
END_TOLERANCE_S = 0.05
_EXAMPLES = 3


@dataclass(frozen=True)
class CleanCue:
    cue: Cue
    clipped: bool


def cue_list(numbers: list[int]) -> str:
    """'cue 4' / 'cues 4, 6, 8 and 2 more': the cues a problem sentence is about."""
    shown = ", ".join(str(n) for n in numbers[:_EXAMPLES])
    more = f" and {len(numbers) - _EXAMPLES} more" if len(numbers) > _EXAMPLES else ""
    return f"cue{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _word_ok(w: Word, duration: float) -> bool:
    return 0 <= w.start < w.end and w.start < duration


def clean_cues(cues: list[Cue], duration: float) -> tuple[list[CleanCue], list[str], int]:
    """(kept cues in time order, problem sentences, words left out) for a track of `duration` s."""
    found: dict[str, list[int]] = defaultdict(list)
    kept: list[CleanCue] = []
    words_out = 0
    for cue in cues:
        if cue.start < 0 or cue.end < 0:
            found["negative"].append(cue.number)
        elif cue.end < cue.start:
            found["reversed"].append(cue.number)
        elif cue.end == cue.start:
            found["zero"].append(cue.number)
        elif not cue.text:
            found["empty"].append(cue.number)
        elif cue.start >= duration:
            found["after"].append(cue.number)
        else:
            clipped = cue.end > duration + END_TOLERANCE_S
            if clipped:
                found["clipped"].append(cue.number)
            words = tuple(
                replace(w, end=min(w.end, duration)) for w in cue.words if _word_ok(w, duration)
            )
            words_out += len(cue.words) - len(words)
            kept.append(CleanCue(replace(cue, end=min(cue.end, duration), words=words), clipped))
    kept.sort(key=lambda c: (c.cue.start, c.cue.end, c.cue.number))
    last_end: dict[str | None, float] = {}
    for c in kept:
        if c.cue.start < last_end.get(c.cue.speaker, -1.0) - END_TOLERANCE_S:
            found["overlap"].append(c.cue.number)
        last_end[c.cue.speaker] = max(last_end.get(c.cue.speaker, -1.0), c.cue.end)

    # (one cue, several cues): the verb agrees with the count.
    sentences = {
        "negative": ("has a negative time; not used.", "have negative times; not used."),
        "reversed": (
            "ends before it starts (reversed times); not used.",
            "end before they start (reversed times); not used.",
        ),
        "zero": (
            "ends where it starts (no duration); not used.",
            "end where they start (no duration); not used.",
        ),
        "empty": ("has no text; not used.", "have no text; not used."),
        "after": (
            "starts after the recording ends ({d:.2f} s); not used.",
            "start after the recording ends ({d:.2f} s); not used.",
        ),
        "clipped": (
            "reaches past the end of the recording ({d:.2f} s); cut at the end.",
            "reach past the end of the recording ({d:.2f} s); cut at the end.",
        ),
        "overlap": (
            "starts before the previous cue of the same speaker ends (overlapping cues); kept.",
            "start before the previous cue of the same speaker ends (overlapping cues); kept.",
        ),
    }
    problems = []
    for key, (one, several) in sentences.items():
        if numbers := found[key]:
            count = len(numbers)
            verb = (one if count == 1 else several).format(d=duration)
            problems.append(f"{count} cue{'s' if count > 1 else ''} ({cue_list(numbers)}) {verb}")
    return kept, problems, words_out
