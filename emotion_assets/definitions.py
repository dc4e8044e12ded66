"""The Dagster code location (pyproject `[tool.dagster]`, workspace.yaml, the image's code server).

Nothing is read or built at import time: Dagster calls `defs()` when it loads the code location,
which reads every setting once (emotion_assets.settings.load_settings, docs/settings.md) and
builds the definitions from them (emotion_assets/defs/location.py).
"""

from __future__ import annotations

from dagster import Definitions, definitions

from emotion_assets.defs.location import build_definitions
from emotion_assets.foundation.quiet import quiet_library_noise


@definitions
def defs() -> Definitions:
    quiet_library_noise()  # every Dagster process (code server, run workers, daemon) loads this
    return build_definitions()
