"""emotion-assets: speech recordings -> time series of emotions, as Dagster assets over DuckDB."""

from emotion_assets.quiet import quiet_library_noise

__version__ = "0.1.0"

quiet_library_noise()
