"""The product's code location with Dagster's multiprocess executor, for bench/day_scale.py.

Every step then runs in a process of its own, forked from a server that preloaded this module
(`preload_modules` in the run config), so the bench can read each step's own peak RSS. The
assets, checks, job and resources are the product's (emotion_assets.defs.location); only the
executor differs. The definitions are built, and the libraries that steps import lazily are
imported, here at import time: a Celery worker process pays them once and then runs many steps,
so a step's seconds should be its work, not Python's imports.
"""

from __future__ import annotations

import importlib

from dagster import Definitions, multiprocess_executor

from emotion_assets.defs.location import build_definitions
from emotion_assets.foundation.quiet import quiet_library_noise

PRELOADED = (
    "torch",
    "great_expectations",
    "sklearn.cluster",
    "matplotlib.pyplot",
    "emotion_assets.engine.core",
    "emotion_assets.engine.day",
    "emotion_assets.audio.vad",
    "emotion_assets.quality.suites",
)
for _name in PRELOADED:
    importlib.import_module(_name)


def _definitions() -> Definitions:
    quiet_library_noise()
    base = build_definitions()
    return Definitions(
        assets=base.assets,
        asset_checks=base.asset_checks,
        jobs=base.jobs,
        resources=base.resources,
        executor=multiprocess_executor,
    )


defs = _definitions()
