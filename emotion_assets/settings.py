"""Every setting of the project, read from the environment, with the defaults documented in README.

Pure module (no Dagster): the CLI, the benchmark and the Dagster resources all read settings here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "iic/emotion2vec_plus_large"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    partition_start: str = "2024-01-01"
    timezone: str = "UTC"
    ffmpeg_binary: str = ""  # empty: the binary shipped in the imageio-ffmpeg wheel
    max_duration_s: float = 4 * 3600.0
    model: str = DEFAULT_MODEL
    model_hub: str = "ms"  # "ms" (ModelScope) or "hf" (Hugging Face)
    device: str = "auto"  # auto | cpu | cuda
    # The web page for one recording (emotion_assets/app, docs/app.md).
    app_host: str = "127.0.0.1"
    app_port: int = 7860
    app_max_upload_mb: float = 200.0
    app_max_duration_s: float = 1800.0
    app_outputs_dir: Path = Path("data/outputs")  # default: <data_dir>/outputs
    dagster_ui_url: str = "http://127.0.0.1:3000"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def model_is_default(self) -> bool:
        return not os.environ.get("EMOTION_MODEL", "").strip()

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("EMOTION_DATA_DIR", "data")).expanduser().resolve()
        return cls(
            data_dir=data_dir,
            partition_start=_env("EMOTION_PARTITION_START", "2024-01-01"),
            timezone=_env("EMOTION_TIMEZONE", "UTC"),
            ffmpeg_binary=_env("FFMPEG_BINARY", ""),
            max_duration_s=float(_env("EMOTION_MAX_DURATION_S", str(4 * 3600.0))),
            model=_env("EMOTION_MODEL", DEFAULT_MODEL),
            model_hub=_env("EMOTION_MODEL_HUB", "ms"),
            device=_env("EMOTION_DEVICE", "auto"),
            app_host=_env("EMOTION_APP_HOST", "127.0.0.1"),
            app_port=int(_env("EMOTION_APP_PORT", "7860")),
            app_max_upload_mb=float(_env("EMOTION_APP_MAX_UPLOAD_MB", "200")),
            app_max_duration_s=float(_env("EMOTION_APP_MAX_DURATION_S", "1800")),
            app_outputs_dir=Path(_env("EMOTION_APP_OUTPUTS_DIR", str(data_dir / "outputs")))
            .expanduser()
            .resolve(),
            dagster_ui_url=_env("EMOTION_DAGSTER_UI_URL", "http://127.0.0.1:3000").rstrip("/"),
        )
