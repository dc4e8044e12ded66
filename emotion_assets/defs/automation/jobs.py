"""The one job: every asset (and its checks) for a day partition."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what define_asset_job returns (not exported by dagster's top level)
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from dagster import AssetSelection, PartitionsDefinition, define_asset_job


def emotion_pipeline(partitions: PartitionsDefinition) -> UnresolvedAssetJobDefinition:
    # The executor is the code location's default (in-process, see definitions.py).
    return define_asset_job(
        name="emotion_pipeline",
        selection=AssetSelection.all(),
        partitions_def=partitions,
        description="Raw audio → normalized audio → emotion scores → analytics, for one recording date.",
    )
