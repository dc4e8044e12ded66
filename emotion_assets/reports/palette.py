"""One colour per emotion, shared by every picture and report so a colour always means the same."""

from __future__ import annotations

import re

from emotion_assets.foundation.labels import EMOTIONS

# Hues chosen to be told apart at a glance; the three non-affective labels get muted tones
# and dashed lines so the eye goes to the emotions first.
EMOTION_COLORS: dict[str, str] = {
    "angry": "#d62728",
    "disgusted": "#6b8e23",
    "fearful": "#9467bd",
    "happy": "#f2a900",
    "neutral": "#7f7f7f",
    "other": "#8c564b",
    "sad": "#1f77b4",
    "surprised": "#17becf",
    "unknown": "#e377c2",
}
MUTED_EMOTIONS: frozenset[str] = frozenset({"neutral", "other", "unknown"})
NONSPEECH_COLOR = "#b0b0b0"
WARNING_COLOR = "#c0392b"
MEANINGLESS_WARNING = "TINY RANDOM MODEL: scores carry no meaning"

assert set(EMOTION_COLORS) == set(EMOTIONS), "palette must cover exactly the nine labels"


def emotion_color(emotion: str) -> str:
    return EMOTION_COLORS.get(emotion, "#333333")


def is_meaningless_model(model_id: str | None) -> bool:
    """True for the tiny random test model ("tiny random model", "tiny-random-emotion2vec", ...)."""
    words = re.split(r"[\s_\-/.]+", (model_id or "").lower())
    return "tiny" in words and "random" in words
