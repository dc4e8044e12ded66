"""emotion-assets: speech recordings -> time series of emotions, as Dagster assets over DuckDB."""

__version__ = "0.1.0"
