"""The nine emotion2vec+ labels, in tokens.txt order (the order of the classifier's outputs)."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "angry",
    "disgusted",
    "fearful",
    "happy",
    "neutral",
    "other",
    "sad",
    "surprised",
    "unknown",
)

# Samples at 16 kHz: one frame every 20 ms, each seeing 25 ms of audio.
SAMPLE_RATE = 16_000
FRAME_STRIDE = 320
RECEPTIVE_FIELD = 400
FRAME_RATE_HZ = SAMPLE_RATE // FRAME_STRIDE  # 50
FRAME_HOP_S = FRAME_STRIDE / SAMPLE_RATE  # 0.02 s between frame starts
FRAME_LENGTH_S = RECEPTIVE_FIELD / SAMPLE_RATE  # 0.025 s of audio per frame
FRAME_CENTRE_S = FRAME_LENGTH_S / 2  # frames are attributed to segments by their centre


def label_from_token(token: str) -> str:
    """Map a tokens.txt line ("生气/angry", "<unk>") to our lowercase label."""
    token = token.strip()
    if token in ("<unk>", "unk"):
        return "unknown"
    return token.split("/")[-1].strip().lower()


def n_frames(n_samples: int) -> int:
    """Frames the model emits for n_samples of 16 kHz audio: floor((N - 400) / 320) + 1, or 0."""
    if n_samples < RECEPTIVE_FIELD:
        return 0
    return (n_samples - RECEPTIVE_FIELD) // FRAME_STRIDE + 1
