"""EngineConfig: how to load and run the model, validated (no torch).

The model's settings are declared once, in emotion_assets.settings.ModelSettings: EngineConfig
takes its defaults from there, checks its values by the same rules (`settings()`), and
`from_settings` is the one place where model settings become an engine config.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from pydantic import ValidationError

from emotion_assets.settings import ModelSettings, check_model_combination

_DEFAULTS = ModelSettings()  # defaults only: a group built here reads no environment

# Engine field -> ModelSettings field, where the engine's name is shorter (the engine and the
# benches say cfg.pause_s, the environment says EMOTION_WINDOW_PAUSE_S).
SETTING_OF = {
    "hub": "model_hub",
    "pause_s": "window_pause_s",
    "pack_s": "window_pack_s",
    "speech_only": "score_speech_only",
    "backend": "engine_backend",
}
ENGINE_OF = {setting: engine for engine, setting in SETTING_OF.items()}
# The fields that are the engine's own, not settings.
ENGINE_ONLY = ("cache_dir", "fast_attention")


@dataclass(frozen=True)
class EngineConfig:
    """How to load and run the model. Hashable: load_engine caches one engine per config.

    Each field but the last two is a ModelSettings field (see there what it does).
    """

    model: str = _DEFAULTS.model
    hub: str = _DEFAULTS.model_hub
    device: str = _DEFAULTS.device
    window_s: float = _DEFAULTS.window_s
    context_s: float = _DEFAULTS.context_s
    batch_size: int = _DEFAULTS.batch_size
    pause_s: float = _DEFAULTS.window_pause_s
    pack_s: float = _DEFAULTS.window_pack_s
    speech_only: bool = _DEFAULTS.score_speech_only
    speech_margin_s: float = _DEFAULTS.speech_margin_s
    threads: int | None = _DEFAULTS.threads
    quantize: str = _DEFAULTS.quantize
    backend: str = _DEFAULTS.engine_backend
    cache_dir: Path | None = None  # hub downloads land here (the wiring passes data/models)
    # accel.py: scaled_dot_product_attention and the conv feature encoder as GEMMs
    fast_attention: bool = True

    @classmethod
    def from_settings(
        cls, settings: ModelSettings, cache_dir: Path | None = None, **overrides
    ) -> EngineConfig:
        """The engine's config from the model settings; keyword arguments win."""
        values = {
            name: getattr(settings, SETTING_OF.get(name, name)) for name in _setting_fields(cls)
        }
        return cls(**{**values, "cache_dir": cache_dir, **overrides})

    def settings(self) -> ModelSettings:
        """These values as model settings, checked by the settings' own rules (ValueError)."""
        values = {SETTING_OF.get(name, name): getattr(self, name) for name in _setting_fields(self)}
        try:
            settings = ModelSettings(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = ENGINE_OF.get(str(error["loc"][0]), error["loc"][0])
            raise ValueError(f"{name}={error['input']!r} is not valid: {error['msg']}") from None
        check_model_combination(
            window_s=self.window_s,
            context_s=self.context_s,
            backend=self.backend,
            quantize=self.quantize,
        )
        return settings

    def __post_init__(self) -> None:
        self.settings()


def _setting_fields(config: type[EngineConfig] | EngineConfig) -> list[str]:
    return [f.name for f in fields(config) if f.name not in ENGINE_ONLY]
