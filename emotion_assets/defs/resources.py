"""Resources: settings from the environment (EnvVar when set, documented defaults otherwise)."""

from __future__ import annotations

import os
from typing import Any

from dagster import ConfigurableResource, EnvVar

from emotion_assets.layout import DataLayout
from emotion_assets.settings import DEFAULT_MODEL


def env_or(name: str, default: Any) -> Any:
    """EnvVar(name) when the variable is set (the UI then shows where a value came from)."""
    return EnvVar(name) if os.environ.get(name, "").strip() else default


def env_int_or(name: str, default: int) -> Any:
    return EnvVar.int(name) if os.environ.get(name, "").strip() else default


def env_float_or(name: str, default: float) -> Any:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


class StorageResource(ConfigurableResource):
    """The data directory: raw input, processed audio, the lake, clips, reports, the warehouse."""

    data_dir: str = "data"

    @property
    def layout(self) -> DataLayout:
        return DataLayout(self.data_dir)


class AudioResource(ConfigurableResource):
    """Decoding and voice-activity settings."""

    ffmpeg_binary: str = ""
    max_duration_s: float = 4 * 3600.0
    vad_threshold: float = 0.5
    vad_min_speech_ms: int = 250
    vad_min_silence_ms: int = 100


class EmotionModelResource(ConfigurableResource):
    """Which emotion2vec+ model runs, where, and how (see docs/engine.md)."""

    model: str = DEFAULT_MODEL
    hub: str = "ms"
    device: str = "auto"
    window_s: float = 0.0  # 0: the engine's measured default
    context_s: float = -1.0  # <0: the engine's default
    batch_size: int = 0  # 0: the engine's default
    threads: int = 0  # 0: torch's default
    quantize: str = "none"
    save_frame_embeddings: bool = False
    # Only `make demo` turns this on: with EMOTION_MODEL unset and no hub, use the tiny model.
    allow_tiny_fallback: bool = False
