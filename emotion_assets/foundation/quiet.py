"""Library chatter a user cannot act on, silenced in one place.

Only third-party noise is lowered; this project's own warnings (the tiny random model) stay loud.
No Dagster import. Importing the package changes nothing: each entry point (the code location's
`defs()`, which code server, run workers and daemon load; the CLI, the demo, the stack, the
workers, the warehouse CLI) calls quiet_library_noise() first.
"""

from __future__ import annotations

import logging
import warnings

# ~210 INFO lines per process importing GX ("Skipping registering function ... because it is a
# closure", "Multiple declarations of metric ..."); GX's warnings and errors still show.
# alembic logs INFO lines whenever Dagster opens or migrates its SQLite storage.
QUIET_LOGGERS = ("great_expectations", "alembic")

# Dagster marks BackfillPolicy as beta and warns once per asset definition in every process
# that loads the code (about 10 lines each time a run or the code server starts); and
# pydub (imported by funasr, never used here: audio goes through imageio-ffmpeg) warns when no
# `ffmpeg` is on PATH.
QUIET_WARNINGS = (
    r"Parameter `backfill_policy` of function .* is currently in beta",
    r"Couldn't find ffmpeg or avconv",
)


def quiet_library_noise() -> None:
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # a deliberate, stricter setting is kept
            logger.setLevel(logging.WARNING)
    for pattern in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
