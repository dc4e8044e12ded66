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


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


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

    def engine_config(self, layout: DataLayout, model: str | None = None):
        from emotion_assets.engine import EngineConfig

        defaults = EngineConfig()
        return EngineConfig(
            model=model or self.model,
            hub=self.hub,
            device=self.device,
            window_s=self.window_s or defaults.window_s,
            context_s=self.context_s if self.context_s >= 0 else defaults.context_s,
            batch_size=self.batch_size or defaults.batch_size,
            threads=self.threads or None,
            quantize=self.quantize,
            cache_dir=layout.models,
        )

    def load(self, layout: DataLayout):
        """(engine, warning): the engine, loaded once per process; a warning when it is the tiny one."""
        from emotion_assets.engine.selection import load_with_fallback

        return load_with_fallback(
            self.engine_config(layout),
            allow_tiny_fallback=self.allow_tiny_fallback,
            tiny_dir=layout.models / "tiny",
        )


def _analytics_resource_class() -> type:
    """AnalyticsResource: one config field per AnalyticsSettings field (same names, env, defaults).

    Built from the dataclass so the thresholds are defined once, in the pure package; rules and
    lists are strings in the same format as their environment variables (docs/analytics.md).
    """
    from dataclasses import fields

    from emotion_assets.analytics.settings import AnalyticsSettings, format_burst_rules

    defaults = AnalyticsSettings()
    annotations: dict[str, type] = {}
    namespace: dict[str, Any] = {}
    for f in fields(AnalyticsSettings):
        value = getattr(defaults, f.name)
        if f.name == "burst_rules":
            value = format_burst_rules(value)
        elif isinstance(value, tuple):
            value = ",".join(value)
        annotations[f.name] = type(value)
        namespace[f.name] = value

    def settings(self) -> AnalyticsSettings:
        env = {f"EMOTION_{name.upper()}": str(getattr(self, name)) for name in annotations}
        return AnalyticsSettings.from_env(env)

    @classmethod
    def from_env(cls):
        current = AnalyticsSettings.from_env()
        values = {}
        for name in annotations:
            value = getattr(current, name)
            if name == "burst_rules":
                value = format_burst_rules(value)
            elif isinstance(value, tuple):
                value = ",".join(value)
            values[name] = value
        return cls(**values)

    namespace.update(
        __annotations__=annotations,
        __doc__="Thresholds of the analytics tables (EMOTION_<FIELD> env vars; docs/analytics.md).",
        __module__=__name__,
        settings=settings,
        from_env=from_env,
    )
    return type("AnalyticsResource", (ConfigurableResource,), namespace)


AnalyticsResource = _analytics_resource_class()
