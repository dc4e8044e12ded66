"""Import Great Expectations with GX_ANALYTICS_ENABLED defaulting to false for this process."""

from __future__ import annotations

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402

__all__ = ["gx"]
