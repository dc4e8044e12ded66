"""Resources: typed Dagster views of the settings groups in emotion_assets.settings.

Each resource has exactly the fields of its settings group and is built from it
(`from_settings`), so the values the environment gave appear in the UI's resource page; the
defaults and the validation live in the settings module alone. Pure code gets the settings
object back (`settings()`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import (
    AnalyticsSettings,
    AudioSettings,
    ModelSettings,
    StorageSettings,
    format_burst_rules,
    load_group,
)
from emotion_assets.storage import Storage

if TYPE_CHECKING:
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.core import EmotionEngine


# The storage fields a resource shows in the UI. The secret key and session token are not among
# them: they are read from the settings (AWS_* variables) when the storage is first used.
STORAGE_FIELDS = ("data_dir", "storage_url", "aws_endpoint_url", "aws_access_key_id", "aws_region")


@functools.cache
def open_storage(
    data_dir: str, storage_url: str, endpoint: str, key_id: str, region: str
) -> Storage:
    """The storage root, validated once per process (StorageError: one sentence)."""
    secrets = load_group(StorageSettings) if storage_url.startswith("s3://") else None
    settings = StorageSettings(
        data_dir=data_dir,
        storage_url=storage_url,
        aws_endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_region=region,
        aws_secret_access_key=secrets.aws_secret_access_key if secrets else "",
        aws_session_token=secrets.aws_session_token if secrets else "",
    )
    storage = Storage.from_settings(settings)
    storage.validate()
    return storage


class StorageResource(ConfigurableResource):
    """Where data lives: the storage root (a folder or s3://bucket/prefix, EMOTION_STORAGE_URL)
    holds raw input, processed audio, the lake, clips, reports and embeddings; data_dir is the
    local scratch folder (and, with no storage URL, the root itself)."""

    data_dir: str
    storage_url: str = ""
    aws_endpoint_url: str = ""
    aws_access_key_id: str = ""
    aws_region: str = "us-east-1"

    @classmethod
    def from_settings(cls, settings: StorageSettings) -> StorageResource:
        return cls(**storage_fields(settings))

    @property
    def layout(self) -> DataLayout:
        """The local scratch folder's layout (the root's, when there is no storage URL)."""
        return DataLayout(self.data_dir)

    def storage(self) -> Storage:
        return open_storage(*(getattr(self, name) for name in STORAGE_FIELDS))


def storage_fields(settings: StorageSettings) -> dict[str, str]:
    values = {name: getattr(settings, name) for name in STORAGE_FIELDS}
    return {**values, "data_dir": str(settings.data_dir)}


class AudioResource(ConfigurableResource):
    """Decoding limits and voice-activity detection (AudioSettings)."""

    ffmpeg_binary: str
    max_duration_s: float
    vad_threshold: float
    vad_min_speech_ms: int
    vad_min_silence_ms: int
    vad_speech_pad_ms: int
    vad_backend: str

    @classmethod
    def from_settings(cls, settings: AudioSettings) -> AudioResource:
        return cls(**settings.model_dump())

    def settings(self) -> AudioSettings:
        return AudioSettings(**{name: getattr(self, name) for name in AudioSettings.model_fields})


class EmotionModelResource(ConfigurableResource):
    """Which emotion2vec+ model runs, where, and how (ModelSettings; docs/engine.md)."""

    model: str
    model_hub: str
    device: str
    window_s: float
    context_s: float
    batch_size: int
    window_pause_s: float
    window_pack_s: float
    score_speech_only: bool
    speech_margin_s: float
    threads: int | None
    quantize: str
    engine_backend: str = "torch"
    save_frame_embeddings: bool
    allow_tiny_fallback: bool

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> EmotionModelResource:
        return cls(**settings.model_dump())

    def settings(self) -> ModelSettings:
        return ModelSettings(**{name: getattr(self, name) for name in ModelSettings.model_fields})

    def engine_config(self, layout: DataLayout) -> EngineConfig:
        from emotion_assets.engine.config import EngineConfig

        return EngineConfig.from_settings(self.settings(), cache_dir=layout.models)

    def load(self, layout: DataLayout) -> tuple[EmotionEngine, str | None]:
        """(engine, warning): loaded once per process; a warning when it is the tiny model."""
        from emotion_assets.engine.selection import load_with_fallback

        return load_with_fallback(
            self.engine_config(layout),
            allow_tiny_fallback=self.allow_tiny_fallback,
            tiny_dir=layout.models / "tiny",
        )


class AnalyticsResource(ConfigurableResource):
    """Thresholds of the analytics tables (AnalyticsSettings; docs/analytics.md#settings).

    Burst rules and highlight rankings are strings in the format of their variables.
    """

    smoothing_window: int
    burst_rules: str
    highlight_top_n: int
    highlight_window_s: float
    highlight_min_speech_share: float
    highlight_rankings: str
    timeline_bucket_s: float
    compare_max_lag_s: float
    compare_min_frames: int
    cluster_k: int
    cluster_random_state: int
    cluster_normalize: bool
    health_anger_points_per_burst_hour: float
    health_anger_max_penalty: float
    health_neutral_low: float
    health_neutral_high: float
    health_neutral_points: float
    health_happy_volatility_max: float
    health_happy_points: float

    @classmethod
    def from_settings(cls, settings: AnalyticsSettings) -> AnalyticsResource:
        values = settings.model_dump()
        values["burst_rules"] = format_burst_rules(settings.burst_rules)
        values["highlight_rankings"] = ",".join(settings.highlight_rankings)
        return cls(**values)

    def settings(self) -> AnalyticsSettings:
        return AnalyticsSettings(
            **{name: getattr(self, name) for name in AnalyticsSettings.model_fields}
        )
