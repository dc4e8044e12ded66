"""Each setting is declared once (issue 26, item 1): the Dagster resources take their fields from
the settings groups, the IO manager writes to the `storage` resource's root, the engine's config
is made from the model settings; a value set in the environment reaches all of them, and a secret
reaches the step without showing in the UI."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetExecutionContext, DailyPartitionsDefinition, asset, materialize
from dagster._core.remote_representation.external_data import (
    RepositorySnap,
    ResourceConfigEnvVarSnap,
    ResourceSnap,
)
from dagster_shared.serdes import serialize_value

from emotion_assets.defs.location import build_definitions, build_resources
from emotion_assets.defs.resources import StorageResource
from emotion_assets.engine.config import EngineConfig
from emotion_assets.foundation.layout import DataLayout
from emotion_assets.settings import ModelSettings, load_settings

DAY = "2024-06-07"
# resource key -> the Settings attribute of its group
GROUP_OF = {
    "storage": "storage",
    "audio": "audio",
    "emotion_model": "model",
    "analytics": "analytics",
}


def resource_page(defs) -> dict[str, ResourceSnap]:
    """The resources as the UI's resource page receives them."""
    return {r.name: r for r in RepositorySnap.from_def(defs.get_repository_def()).resources}


def test_each_resource_shows_exactly_its_settings_group(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMOTION_SMOOTHING_WINDOW", "7")
    monkeypatch.setenv("EMOTION_WINDOW_PAUSE_S", "0.5")
    monkeypatch.setenv("EMOTION_VAD_BACKEND", "jit")
    settings = load_settings()
    defs = build_definitions(settings)
    page = resource_page(defs)
    for key, attr in GROUP_OF.items():
        group = getattr(settings, attr)
        assert {f.name for f in page[key].config_field_snaps} == set(type(group).model_fields)
        assert defs.resources[key].settings() == group  # and back, as the same settings
    assert page["analytics"].configured_values["smoothing_window"] == "7"
    assert page["emotion_model"].configured_values["window_pause_s"] == "0.5"
    assert page["audio"].configured_values["vad_backend"] == '"jit"'
    assert page["storage"].configured_values["data_dir"] == f'"{data_dir.resolve()}"'
    # The IO managers declare no storage field of their own: they use the storage resource.
    for manager in ("io_manager", "lake_scans_io_manager"):
        assert page[manager].config_field_snaps == []
        assert set(page[manager].nested_resources) == {"storage"}


def test_a_secret_shows_as_its_variable_and_reaches_the_step(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-the-ui")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "nor-this")
    defs = build_definitions(load_settings())
    page = resource_page(defs)["storage"]
    assert page.configured_values["aws_secret_access_key"] == ResourceConfigEnvVarSnap(
        name="AWS_SECRET_ACCESS_KEY"
    )
    assert page.configured_values["aws_session_token"] == ResourceConfigEnvVarSnap(
        name="AWS_SESSION_TOKEN"
    )
    shipped = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert "not-for-the-ui" not in shipped and "nor-this" not in shipped

    seen = {}

    @asset
    def probe(storage: StorageResource) -> None:
        settings = storage.settings()
        seen["key"] = settings.aws_secret_access_key.get_secret_value()
        seen["token"] = settings.aws_session_token.get_secret_value()

    assert materialize([probe], resources={"storage": defs.resources["storage"]}).success
    assert seen == {"key": "not-for-the-ui", "token": "nor-this"}


@asset(partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"))
def calls(context: AssetExecutionContext) -> pl.DataFrame:
    return pl.DataFrame({"recording_date": [dt.date.fromisoformat(context.partition_key)]})


def test_the_environment_reaches_the_io_manager_and_the_engine_config(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    monkeypatch.setenv("EMOTION_STORAGE_URL", str(root))
    monkeypatch.setenv("EMOTION_WINDOW_PAUSE_S", "0.5")
    monkeypatch.setenv("EMOTION_SCORE_SPEECH_ONLY", "1")
    monkeypatch.setenv("EMOTION_ENGINE_BACKEND", "onnx")
    resources = build_resources(load_settings())

    result = materialize(
        [calls], resources={"io_manager": resources["io_manager"]}, partition_key=DAY
    )
    assert result.success
    assert (root / "lake" / "calls" / f"recording_date={DAY}" / "data.parquet").is_file()
    assert not (data_dir / "lake").exists()

    layout = DataLayout(data_dir)
    config = resources["emotion_model"].engine_config(layout)
    assert (config.pause_s, config.speech_only, config.backend) == (0.5, True, "onnx")
    assert config.cache_dir == layout.models


def test_the_engine_config_takes_the_model_settings_defaults_and_rules() -> None:
    assert EngineConfig() == EngineConfig.from_settings(ModelSettings())
    tuned = ModelSettings(window_s=12.0, context_s=2.0, batch_size=3, window_pack_s=6.0)
    assert EngineConfig.from_settings(tuned).settings() == tuned
    with pytest.raises(ValueError, match="threads"):
        EngineConfig(threads=0)  # a rule of ModelSettings (threads >= 1), not restated
