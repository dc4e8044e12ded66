"""Every setting of the project: typed, validated models read from the environment in one place.

Pure module (no Dagster). `load_settings()` is the only reader of EMOTION_* variables: the CLI,
the demo, the web page and the Dagster code location call it once and hand the typed groups on
(each Dagster resource in emotion_assets/defs/resources.py takes its fields from one group). A
bad value fails with one sentence naming the variable and what it accepts (`SettingsError`).
README "Settings" lists every variable.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emotion_assets.foundation.labels import EMOTIONS

DEFAULT_MODEL = "iic/emotion2vec_plus_large"
SUPPORTED_STORAGE_SCHEMES = ("", "file", "s3")
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
    # Shared storage (docs/deploy.md). Empty: everything under data_dir, as always. Otherwise a
    # local folder (a path or file://...) or s3://bucket/prefix for raw recordings, processed
    # audio, the lake, clips, reports and embeddings; data_dir then holds only local scratch.
    storage_url: str = ""
    # With a storage URL: local copies in data_dir that no step used for this many hours are
    # removed when a step next pulls (0: keep them; they are only a cache of the root).
    scratch_keep_h: float = Field(24.0, ge=0)
    # S3 client settings follow the AWS conventions (the same variables boto3 and the AWS CLI
    # read); an empty endpoint means AWS itself.
    aws_endpoint_url: str = Field(
        "", validation_alias=AliasChoices("AWS_ENDPOINT_URL", "aws_endpoint_url")
    )
    aws_access_key_id: str = Field(
        "", validation_alias=AliasChoices("AWS_ACCESS_KEY_ID", "aws_access_key_id")
    )
    aws_secret_access_key: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
    )
    aws_session_token: SecretStr = Field(
        SecretStr(""), validation_alias=AliasChoices("AWS_SESSION_TOKEN", "aws_session_token")
    )
    aws_region: str = Field(
        "us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION", "aws_region"),
    )

    @field_validator("storage_url")
    @classmethod
    def _supported_scheme(cls, value: str) -> str:
        value = value.strip()
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in SUPPORTED_STORAGE_SCHEMES:
            raise ValueError(
                f"the scheme {scheme}:// is not supported; use a local folder, file://... "
                "or s3://bucket/prefix"
            )
        if scheme == "s3" and not value[len("s3://") :].strip("/"):
            raise ValueError("an s3:// URL needs a bucket, as in s3://bucket/prefix")
        return value

    @field_validator("aws_endpoint_url")
    @classmethod
    def _http_endpoint(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL, such as http://127.0.0.1:8333")
        return value

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
    vad_backend: Literal["sequence", "onnx", "jit"] = "sequence"


def check_model_combination(
    *, window_s: float, context_s: float, backend: str, quantize: str
) -> None:
    """The rules between model settings (one home: load_settings and the engine's EngineConfig
    both call it); ValueError says which."""
    if backend == "onnx" and quantize != "none":
        raise ValueError("backend='onnx' runs float32 only: set quantize='none'")
    if not 0 <= 2 * context_s < window_s:
        raise ValueError("context_s must be shorter than half of window_s")


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
    # ... and are packed to about this long where pauses allow (at most window_s)
    window_pack_s: float = Field(15.0, gt=0)
    # Opt-in: compute only speech (+ margin); other frames keep NULL scores
    score_speech_only: bool = False
    speech_margin_s: float = Field(0.2, ge=0)
    threads: int | None = Field(None, ge=1)  # None: every core the process may use
    quantize: Literal["none", "int8"] = "none"
    # Opt-in: the encoder through ONNX Runtime (CPU float32; docs/performance.md, ONNX trial)
    engine_backend: Literal["torch", "onnx"] = "torch"
    save_frame_embeddings: bool = False
    # With EMOTION_MODEL unset and the default model out of reach, run the tiny random model
    # (loudly) instead of failing: `make demo` and `make ui` turn this on.
    allow_tiny_fallback: bool = False

    @property
    def model_is_default(self) -> bool:
        return "model" not in self.model_fields_set


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
    # A day with more segments is fitted on a sample of this many (memory: ~8 KB a segment at
    # the full model's 1,024 dimensions), then assigned a group of recordings at a time.
    cluster_fit_segments: int = Field(100_000, ge=1)
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


CELERY_BROKER_SCHEMES = ("redis", "rediss", "amqp", "pyamqp", "sentinel")


class ExecutionSettings(EnvSettings):
    """Where a run's steps execute: in the run's own process, or on Celery workers (docs/deploy.md).

    With `celery`, each step is a Celery task on a queue of the broker: the model step on the
    GPU queue (served only by workers on GPU machines), every other step on the CPU queue.
    """

    model_config = settings_config()

    executor: Literal["in_process", "celery"] = "in_process"
    celery_broker: str = "redis://127.0.0.1:6379/0"
    celery_backend: str = ""  # empty: the broker (Redis keeps the step results too)
    celery_cpu_queue: str = Field("cpu", pattern=r"^[A-Za-z0-9_.-]+$")
    celery_gpu_queue: str = Field("gpu", pattern=r"^[A-Za-z0-9_.-]+$")
    # How long a run waits for a worker to listen on each queue it needs before it fails
    # (instead of waiting forever for a GPU machine that never comes).
    celery_worker_wait_s: float = Field(300.0, gt=0)
    # The model step's work units: tracks to score, at most this many audio hours a step (a
    # longer track alone), each unit a step on any worker of the GPU queue (docs/scale.md).
    unit_audio_hours: float = Field(2.0, gt=0)

    @property
    def unit_audio_s(self) -> float:
        """A work unit's audio in seconds."""
        return self.unit_audio_hours * 3600

    @field_validator("celery_broker", "celery_backend")
    @classmethod
    def _broker_url(cls, value: str, info) -> str:
        value = value.strip()
        if not value and info.field_name == "celery_backend":
            return value
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in CELERY_BROKER_SCHEMES:
            raise ValueError(
                "a broker URL such as redis://host:6379/0 (schemes: "
                f"{', '.join(CELERY_BROKER_SCHEMES)})"
            )
        return value

    @property
    def result_backend(self) -> str:
        return self.celery_backend or self.celery_broker


def parse_key_values(text: str) -> dict[str, str]:
    """Parse "key=value,key2=value2" (Kubernetes labels) into a dict."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r} is not key=value")
        pairs[key.strip()] = value.strip()
    return pairs


def parse_tolerations(text: str) -> tuple[str, ...]:
    """Check "key[=value]:Effect,..." (Kubernetes tolerations) item by item."""
    items = tuple(filter(None, (part.strip() for part in text.split(","))))
    for item in items:
        key_value, sep, effect = item.rpartition(":")
        if not sep or not key_value.partition("=")[0] or effect not in K8S_TAINT_EFFECTS:
            raise ValueError(
                f"{item!r} is not key[=value]:Effect with Effect one of {', '.join(K8S_TAINT_EFFECTS)}"
            )
    return items


K8S_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class KubernetesSettings(EnvSettings):
    """The model step's pod on Kubernetes (deploy/k8s/, docs/deploy.md#kubernetes).

    Only used when the code location runs on Kubernetes (EMOTION_K8S=1, set in the image's
    ConfigMap): then the model step carries a `dagster-k8s/config` tag that asks for GPUs on a
    GPU node; elsewhere no step carries Kubernetes tags.
    """

    model_config = settings_config()

    k8s: bool = False
    k8s_gpu_count: int = Field(1, ge=1)  # nvidia.com/gpu limit of the model step's pod
    # The CUDA build of the code location's image (Dockerfile, TORCH_VARIANT); empty: the model
    # step runs the code location's own image (then build that one with CUDA).
    k8s_gpu_image: str = ""
    # The node pool with GPUs: a label on its nodes, and the taint that keeps others off them.
    k8s_gpu_node_selector: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"}
    )
    k8s_gpu_tolerations: Annotated[tuple[str, ...], NoDecode] = ("nvidia.com/gpu:NoSchedule",)
    # Requests of the model step's pod: the full-size model, a day's frames and polars.
    k8s_gpu_cpu: str = "4"
    k8s_gpu_memory: str = "16Gi"

    @field_validator("k8s_gpu_node_selector", mode="before")
    @classmethod
    def _selector_from_text(cls, value: object) -> object:
        return parse_key_values(value) if isinstance(value, str) else value

    @field_validator("k8s_gpu_tolerations", mode="before")
    @classmethod
    def _tolerations_from_text(cls, value: object) -> object:
        return parse_tolerations(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Settings:
    """All groups, as read from the environment by load_settings()."""

    storage: StorageSettings
    audio: AudioSettings
    model: ModelSettings
    analytics: AnalyticsSettings
    app: AppSettings
    execution: ExecutionSettings
    kubernetes: KubernetesSettings


def variable_name(group: type[BaseSettings], field: str) -> str:
    """The environment variable a group's field is read from (EMOTION_<FIELD> or its AWS-style
    alias): error messages name it, and the Dagster resources point secrets at it."""
    info = group.model_fields.get(field)
    if info is None and field.isupper():  # pydantic names the alias it read, e.g. AWS_REGION
        return field
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{ENV_PREFIX}{field}".upper()


def _one_sentence(group: type[BaseSettings], exc: ValidationError) -> SettingsError:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error.get("loc") else ""
    name = variable_name(group, field) if field else group.__name__
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
        execution=load_group(ExecutionSettings),
        kubernetes=load_group(KubernetesSettings),
    )
    try:  # the rules between model settings, which the engine's config checks too: now, named
        check_model_combination(
            window_s=model.window_s,
            context_s=model.context_s,
            backend=model.engine_backend,
            quantize=model.quantize,
        )
    except ValueError as exc:
        model = settings.model
        raise SettingsError(
            f"EMOTION_CONTEXT_S={model.context_s:g} and EMOTION_WINDOW_S={model.window_s:g} "
            f"are not valid together: {exc}."
        ) from None
    return settings
