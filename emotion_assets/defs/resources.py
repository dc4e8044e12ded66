"""Resources: the settings groups of emotion_assets.settings, as Dagster resources.

A resource's fields are derived from its settings group (`settings_resource`), never declared a
second time: the same names, in the types Dagster's config holds (a path, a date or a secret as
text, a tuple as a list), so the values the environment gave show on the UI's resource page while
defaults and validation live in the settings module alone. A resource is built from its group
(`from_settings`) and gives it back, validated (`settings()`). A secret travels as an `EnvVar`
named after its own variable: the UI and the run config show that name, never the value, and
Dagster reads it where the step runs.
"""

from __future__ import annotations

import functools
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Union, get_args, get_origin

from dagster import ConfigurableResource, EnvVar
from pydantic import Field, SecretStr, create_model
from pydantic.fields import FieldInfo
from typing_extensions import Self  # typing.Self is 3.11+; the package supports 3.10

from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import (
    AnalyticsSettings,
    AudioSettings,
    EnvSettings,
    ModelSettings,
    StorageSettings,
    variable_name,
)
from emotion_assets.storage import Storage

if TYPE_CHECKING:
    from emotion_assets.engine.config import EngineConfig
    from emotion_assets.engine.core import EmotionEngine

PLAIN_TYPES = (str, int, float, bool)


def config_type(annotation: Any) -> Any:
    """The type Dagster's config holds for a settings field's type: str, int, float and bool as
    they are, optional values optional, tuples as lists, dicts as dicts; anything else (a path, a
    date, a secret, a choice of words) as its text, which the settings group parses back."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        (inner,) = (arg for arg in args if arg is not type(None))
        return config_type(inner) | None
    if origin is tuple:  # tuple[X, ...] or tuple[X, X]: one type of item
        return list[config_type(args[0])]
    if origin is dict:
        return dict[str, config_type(args[1])]
    return annotation if annotation in PLAIN_TYPES else str


def is_secret(info: FieldInfo) -> bool:
    return info.annotation is SecretStr


def config_field(info: FieldInfo) -> tuple[Any, Any]:
    """A resource field for a settings field: required (the group's own default arrives through
    from_settings), secrets flagged so Dagster masks them."""
    extra = {"dagster__is_secret": True} if is_secret(info) else None
    return config_type(info.annotation), Field(
        description=info.description, json_schema_extra=extra
    )


class SettingsResource(ConfigurableResource):
    """A resource whose fields are exactly one settings group's (made by settings_resource)."""

    group: ClassVar[type[EnvSettings]]

    @classmethod
    def from_settings(cls, settings: EnvSettings) -> Self:
        values = settings.model_dump(mode="json")  # paths, dates and tuples as config holds them
        for name, info in cls.group.model_fields.items():
            if is_secret(info):
                secret = getattr(settings, name).get_secret_value()
                values[name] = EnvVar(variable_name(cls.group, name)) if secret else ""
        return cls(**values)

    def settings(self) -> Any:
        """The settings group again, validated (an instance of `group`)."""
        return self.group(**{name: getattr(self, name) for name in self.group.model_fields})


def settings_resource(group: type[EnvSettings]) -> type[SettingsResource]:
    """The base class of a resource that holds `group`: its fields, derived from the group."""
    fields = {name: config_field(info) for name, info in group.model_fields.items()}
    base = create_model(
        f"{group.__name__}Fields", __base__=SettingsResource, __module__=__name__, **fields
    )
    base.group = group
    return base


@functools.cache
def open_storage(settings: StorageSettings) -> Storage:
    """The storage root, validated once per process and settings (StorageError: one sentence)."""
    storage = Storage.from_settings(settings)
    storage.validate()
    return storage


class StorageResource(settings_resource(StorageSettings)):
    """Where data lives (StorageSettings): the storage root (a folder or s3://bucket/prefix,
    EMOTION_STORAGE_URL) holds raw input, processed audio, the lake, clips, reports and
    embeddings; data_dir is the local scratch folder (and, with no storage URL, the root itself)."""

    @property
    def layout(self) -> DataLayout:
        """The local scratch folder's layout (the root's, when there is no storage URL)."""
        return DataLayout(self.data_dir)

    def storage(self) -> Storage:
        return open_storage(self.settings())


class AudioResource(settings_resource(AudioSettings)):
    """Decoding limits and voice-activity detection (AudioSettings)."""


class EmotionModelResource(settings_resource(ModelSettings)):
    """Which emotion2vec+ model runs, where, and how (ModelSettings; docs/engine.md)."""

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


class AnalyticsResource(settings_resource(AnalyticsSettings)):
    """Thresholds of the analytics tables (AnalyticsSettings; docs/analytics.md#settings)."""
