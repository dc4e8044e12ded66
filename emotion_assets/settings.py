"""Every setting of the project: typed, validated models read from the environment in one place.

Pure module (no Dagster). `load_settings()` is the only reader of EMOTION_* variables: the CLI,
the demo, the web page and the Dagster code location call it once and hand the typed groups on
(the Dagster resources are built from them in emotion_assets/defs/resources.py). A bad value
fails with one sentence naming the variable and what it accepts (`SettingsError`). README
"Settings" lists every variable.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emotion_assets.labels import EMOTIONS

if TYPE_CHECKING:
    from emotion_assets.audio.vad import VadParams
    from emotion_assets.engine.core import EngineConfig

DEFAULT_MODEL = "iic/emotion2vec_plus_large"
ENV_PREFIX = "EMOTION_"


def settings_config(**extra) -> SettingsConfigDict:
    """EMOTION_<FIELD> variables, empty means unset, frozen values, unknown variables ignored."""
    return SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        protected_namespaces=(),
        **extra,
    )


class SettingsError(ValueError):
    """A setting's value is not valid: one sentence naming the variable."""


# Only load_group() reads the environment: a group built anywhere else (a test, a pure
# function's default) holds its defaults and the values it is given, nothing more.
_READING_ENVIRONMENT: ContextVar[bool] = ContextVar("reading_environment", default=False)


class EnvSettings(BaseSettings):
    """A settings group: EMOTION_<FIELD> variables, read by load_group() alone."""

    model_config = settings_config()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        if _READING_ENVIRONMENT.get():
            return (init_settings, env_settings)
        return (init_settings,)


class StorageSettings(EnvSettings):
    """Where data lives and how it is partitioned."""

    model_config = settings_config()

    data_dir: Path = Path("data")
    partition_start: dt.date = dt.date(2024, 1, 1)
    timezone: str = "UTC"

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone name such as UTC or Europe/Berlin") from exc
        return value


class AudioSettings(EnvSettings):
    """Decoding limits and voice-activity detection."""

    model_config = settings_config()

    ffmpeg_binary: str = Field(
        "", validation_alias=AliasChoices("FFMPEG_BINARY", "ffmpeg_binary")
    )  # empty: the binary shipped in the imageio-ffmpeg wheel
    max_duration_s: float = Field(4 * 3600.0, gt=0)
    vad_threshold: float = Field(0.5, gt=0, lt=1)
    vad_min_speech_ms: int = Field(250, ge=0)
    vad_min_silence_ms: int = Field(100, ge=0)
    vad_speech_pad_ms: int = Field(30, ge=0)
    vad_backend: Literal["onnx", "jit"] = "onnx"

    def vad_params(self) -> VadParams:
        from emotion_assets.audio.vad import VadParams

        return VadParams(
            threshold=self.vad_threshold,
            min_speech_ms=self.vad_min_speech_ms,
            min_silence_ms=self.vad_min_silence_ms,
            speech_pad_ms=self.vad_speech_pad_ms,
            backend=self.vad_backend,
        )


class ModelSettings(EnvSettings):
    """Which emotion2vec+ model runs, where and how (docs/engine.md)."""

    model_config = settings_config()

    model: str = DEFAULT_MODEL
    model_hub: Literal["ms", "hf"] = "ms"
    device: Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")] = "auto"
    window_s: float = Field(30.0, gt=0)
    context_s: float = Field(4.0, ge=0)
    batch_size: int = Field(1, ge=1)
    # Windows end in VAD pauses of at least this long (0: fixed overlapping windows only)
    window_pause_s: float = Field(0.3, ge=0)
    # Opt-in: compute only speech (+ margin); other frames keep NULL scores
    score_speech_only: bool = False
    speech_margin_s: float = Field(0.2, ge=0)
    threads: int | None = Field(None, ge=1)  # None: every core the process may use
    quantize: Literal["none", "int8"] = "none"
    save_frame_embeddings: bool = False
    # With EMOTION_MODEL unset and the default model out of reach, run the tiny random model
    # (loudly) instead of failing: `make demo` and `make ui` turn this on.
    allow_tiny_fallback: bool = False

    @property
    def model_is_default(self) -> bool:
        return "model" not in self.model_fields_set

    def engine_config(self, cache_dir: Path | None = None, **overrides) -> EngineConfig:
        """The engine's own (hashable, validated) config; keyword arguments win."""
        from emotion_assets.engine.core import EngineConfig

        values = {
            "model": self.model,
            "hub": self.model_hub,
            "device": self.device,
            "window_s": self.window_s,
            "context_s": self.context_s,
            "batch_size": self.batch_size,
            "pause_s": self.window_pause_s,
            "speech_only": self.score_speech_only,
            "speech_margin_s": self.speech_margin_s,
            "threads": self.threads,
            "quantize": self.quantize,
            "cache_dir": cache_dir,
        }
        return EngineConfig(**{**values, **overrides})


DEFAULT_BURST_RULES: dict[str, tuple[float, float]] = {"angry": (0.7, 3.0)}
HIGHLIGHT_RANKINGS = ("intensity", "variance")


def parse_burst_rules(text: str) -> dict[str, tuple[float, float]]:
    """Parse "angry:0.7:3,sad:0.6:5" into {"angry": (0.7, 3.0), "sad": (0.6, 5.0)}."""
    rules: dict[str, tuple[float, float]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        parts = [p.strip() for p in item.split(":")]
        if len(parts) != 3:
            raise ValueError(f"burst rule {item!r} is not emotion:threshold:min_seconds")
        rules[parts[0].lower()] = (float(parts[1]), float(parts[2]))
    return rules


def format_burst_rules(rules: dict[str, tuple[float, float]]) -> str:
    return ",".join(f"{e}:{t:g}:{d:g}" for e, (t, d) in rules.items())


class AnalyticsSettings(EnvSettings):
    """Every threshold of the analytics tables (docs/analytics.md#settings).

    Defaults follow the seed's practice (3-5 frame trends, angry > 0.7 for 3 s, 3 s highlights,
    one-minute timeline buckets, lags within +-2 s, four clusters).
    """

    model_config = settings_config()

    # Smoothing: centred rolling mean over this many consecutive speech frames (odd is best).
    smoothing_window: int = Field(5, ge=1)
    # Bursts: emotion -> (strict lower threshold on the smoothed score, minimum seconds).
    burst_rules: Annotated[dict[str, tuple[float, float]], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_BURST_RULES)
    )
    # Highlights: top N windows of window_s per (recording, track) and ranking.
    highlight_top_n: int = Field(5, ge=0)
    highlight_window_s: float = Field(3.0, gt=0)
    highlight_min_speech_share: float = Field(0.5, ge=0, le=1)
    highlight_rankings: Annotated[tuple[Literal["intensity", "variance"], ...], NoDecode] = (
        HIGHLIGHT_RANKINGS
    )
    # Timeline bucket width.
    timeline_bucket_s: float = Field(60.0, gt=0)
    # Comparisons: lags searched within +-max_lag_s; fewer valid frame pairs -> null r.
    compare_max_lag_s: float = Field(2.0, ge=0)
    compare_min_frames: int = Field(25, ge=1)
    # Clusters of speech-segment embeddings.
    cluster_k: int = Field(4, ge=1)
    cluster_random_state: int = 0
    cluster_normalize: bool = True
    # Health score (docs/analytics.md, "Health score").
    health_anger_points_per_burst_hour: float = Field(2.5, ge=0)
    health_anger_max_penalty: float = Field(50.0, ge=0)
    health_neutral_low: float = Field(0.4, ge=0, le=1)
    health_neutral_high: float = Field(0.9, ge=0, le=1)
    health_neutral_points: float = Field(100.0, ge=0)
    health_happy_volatility_max: float = Field(0.15, gt=0)
    health_happy_points: float = Field(100.0, ge=0)

    @field_validator("burst_rules", mode="before")
    @classmethod
    def _rules_from_text(cls, value: object) -> object:
        return parse_burst_rules(value) if isinstance(value, str) else value

    @field_validator("burst_rules")
    @classmethod
    def _valid_rules(cls, rules: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for emotion, (threshold, seconds) in rules.items():
            if emotion not in EMOTIONS:
                raise ValueError(f"{emotion!r} is not one of {', '.join(EMOTIONS)}")
            if not 0.0 <= threshold < 1.0 or seconds <= 0:
                raise ValueError(f"{emotion}: need 0 <= threshold < 1 and min_seconds > 0")
        return rules

    @field_validator("highlight_rankings", mode="before")
    @classmethod
    def _rankings_from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @model_validator(mode="after")
    def _neutral_band(self) -> AnalyticsSettings:
        if self.health_neutral_low > self.health_neutral_high:
            raise ValueError("health_neutral_low must be <= health_neutral_high")
        return self


class AppSettings(EnvSettings):
    """The web page for one recording (emotion_assets/app, docs/app.md)."""

    model_config = settings_config()

    app_host: str = "127.0.0.1"
    app_port: int = Field(7860, ge=1, le=65535)
    app_max_upload_mb: float = Field(200.0, gt=0)
    app_max_duration_s: float = Field(1800.0, gt=0)
    app_outputs_dir: Path | None = None  # None: <data dir>/outputs
    dagster_ui_url: str = "http://127.0.0.1:3000"

    @field_validator("dagster_ui_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def outputs_dir(self, data_dir: Path) -> Path:
        return (self.app_outputs_dir or data_dir / "outputs").expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    """All groups, as read from the environment by load_settings()."""

    storage: StorageSettings
    audio: AudioSettings
    model: ModelSettings
    analytics: AnalyticsSettings
    app: AppSettings


def _variable(group: type[BaseSettings], field: str) -> str:
    info = group.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{ENV_PREFIX}{field}".upper()


def _one_sentence(group: type[BaseSettings], exc: ValidationError) -> SettingsError:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error.get("loc") else ""
    name = _variable(group, field) if field else group.__name__
    value = error.get("input")
    shown = f"={value!r}" if isinstance(value, str | int | float) else ""
    why = error["msg"].removeprefix("Value error, ")
    return SettingsError(f"{name}{shown} is not valid: {why[0].lower() + why[1:]}.")


G = TypeVar("G", bound=EnvSettings)


def load_group(group: type[G]) -> G:
    """One settings group from the environment, or SettingsError naming the variable."""
    token = _READING_ENVIRONMENT.set(True)
    try:
        return group()
    except ValidationError as exc:
        raise _one_sentence(group, exc) from None
    finally:
        _READING_ENVIRONMENT.reset(token)


def load_settings() -> Settings:
    """Every group from the environment, each validated (the one place they are read)."""
    model = load_group(ModelSettings)
    # The tiny-model fallback applies only when the user chose no model (EMOTION_MODEL unset).
    model = model.model_copy(
        update={"allow_tiny_fallback": model.allow_tiny_fallback and model.model_is_default}
    )
    settings = Settings(
        storage=load_group(StorageSettings),
        audio=load_group(AudioSettings),
        model=model,
        analytics=load_group(AnalyticsSettings),
        app=load_group(AppSettings),
    )
    try:  # the window/context rule lives with the engine's own config: surface it now, named
        settings.model.engine_config()
    except ValueError as exc:
        model = settings.model
        raise SettingsError(
            f"EMOTION_CONTEXT_S={model.context_s:g} and EMOTION_WINDOW_S={model.window_s:g} "
            f"are not valid together: {exc}."
        ) from None
    return settings
