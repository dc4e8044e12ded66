"""Every threshold of the analytics tables, in one frozen dataclass read from EMOTION_* env vars.

Defaults follow the seed's practice (3–5 frame trends, angry > 0.7 for 3 s, 3 s highlights,
one-minute timeline buckets, lags within ±2 s, four clusters). docs/analytics.md lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from emotion_assets.labels import EMOTIONS

DEFAULT_BURST_RULES: dict[str, tuple[float, float]] = {"angry": (0.7, 3.0)}


def parse_burst_rules(text: str) -> dict[str, tuple[float, float]]:
    """Parse "angry:0.7:3,sad:0.6:5" into {"angry": (0.7, 3.0), "sad": (0.6, 5.0)}."""
    rules: dict[str, tuple[float, float]] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        parts = [p.strip() for p in item.split(":")]
        if len(parts) != 3:
            raise ValueError(f"burst rule {item!r} is not emotion:threshold:min_duration_s")
        emotion, threshold, min_duration = parts[0].lower(), float(parts[1]), float(parts[2])
        if emotion not in EMOTIONS:
            raise ValueError(f"burst rule {item!r}: unknown emotion (one of {', '.join(EMOTIONS)})")
        if not 0.0 <= threshold < 1.0 or min_duration <= 0:
            raise ValueError(f"burst rule {item!r}: need 0 <= threshold < 1 and min_duration_s > 0")
        rules[emotion] = (threshold, min_duration)
    return rules


def format_burst_rules(rules: dict[str, tuple[float, float]]) -> str:
    return ",".join(f"{e}:{t:g}:{d:g}" for e, (t, d) in rules.items())


@dataclass(frozen=True)
class AnalyticsSettings:
    # Smoothing: centred rolling mean over this many consecutive speech frames (odd is best).
    smoothing_window: int = 5
    # Bursts: emotion -> (strict lower threshold on the smoothed score, minimum duration in s).
    burst_rules: dict[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_BURST_RULES), hash=False
    )
    # Highlights: top N windows of window_s per (recording, track) and ranking.
    highlight_top_n: int = 5
    highlight_window_s: float = 3.0
    highlight_min_speech_share: float = 0.5
    highlight_rankings: tuple[str, ...] = ("intensity", "variance")
    # Timeline bucket width.
    timeline_bucket_s: float = 60.0
    # Comparisons: lags searched within ±max_lag_s; fewer valid frame pairs than this -> null r.
    compare_max_lag_s: float = 2.0
    compare_min_frames: int = 25
    # Clusters of speech-segment embeddings.
    cluster_k: int = 4
    cluster_random_state: int = 0
    cluster_normalize: bool = True
    # Health score (see docs/analytics.md for the formula).
    health_anger_points_per_burst_hour: float = 2.5
    health_anger_max_penalty: float = 50.0
    health_neutral_low: float = 0.4
    health_neutral_high: float = 0.9
    health_neutral_points: float = 100.0
    health_happy_volatility_max: float = 0.15
    health_happy_points: float = 100.0

    def __post_init__(self) -> None:
        if self.smoothing_window < 1:
            raise ValueError("smoothing_window must be >= 1")
        if self.highlight_top_n < 0 or self.highlight_window_s <= 0:
            raise ValueError("highlight_top_n must be >= 0 and highlight_window_s > 0")
        unknown = set(self.highlight_rankings) - {"intensity", "variance"}
        if unknown:
            raise ValueError(f"unknown highlight rankings: {sorted(unknown)}")
        if self.timeline_bucket_s <= 0 or self.compare_max_lag_s < 0 or self.cluster_k < 1:
            raise ValueError("timeline_bucket_s > 0, compare_max_lag_s >= 0, cluster_k >= 1")
        if not self.health_neutral_low <= self.health_neutral_high:
            raise ValueError("health_neutral_low must be <= health_neutral_high")
        # Normalise rules given as any mapping/iterables into a plain dict of float pairs.
        rules = {str(e): (float(t), float(d)) for e, (t, d) in dict(self.burst_rules).items()}
        parse_burst_rules(format_burst_rules(rules))  # same validation as the env var
        object.__setattr__(self, "burst_rules", rules)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AnalyticsSettings:
        """Read EMOTION_<FIELD_UPPER> for every field; unset or empty keeps the default."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        defaults = cls()
        for f in fields(cls):
            raw = env.get(f"EMOTION_{f.name.upper()}", "").strip()
            if not raw:
                continue
            current = getattr(defaults, f.name)
            if f.name == "burst_rules":
                values[f.name] = parse_burst_rules(raw)
            elif isinstance(current, bool):
                values[f.name] = raw.lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                values[f.name] = int(raw)
            elif isinstance(current, float):
                values[f.name] = float(raw)
            elif isinstance(current, tuple):
                values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            else:
                values[f.name] = raw
        return cls(**values)
