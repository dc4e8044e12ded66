"""Run the whole pipeline for one day in this process (the demo, the benchmark and tests use it)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult

from emotion_assets.settings import Settings, load_settings


def run_day(
    data_dir: Path | str,
    day: str,
    *,
    instance: DagsterInstance | None = None,
    raise_on_error: bool = True,
    settings: Settings | None = None,
) -> dict:
    """Materialize every asset (and run every check) of `day`; return what happened.

    `settings` (default: read from the environment) run with `data_dir` as their data folder;
    nothing is written into os.environ.
    """
    from emotion_assets.defs.emotion.assets import LOAD_SECONDS, SCORING_SECONDS
    from emotion_assets.defs.location import build_definitions

    settings = settings or load_settings()
    storage = settings.storage.model_copy(update={"data_dir": Path(data_dir).resolve()})
    defs = build_definitions(dataclasses.replace(settings, storage=storage))
    job = defs.resolve_job_def("emotion_pipeline")
    started = time.perf_counter()
    result: ExecuteInProcessResult = job.execute_in_process(
        partition_key=day,
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )
    wall_s = time.perf_counter() - started
    step_seconds: dict[str, float] = {}
    for event in result.all_events:
        if event.is_step_success and event.step_key:
            duration_ms = event.event_specific_data.duration_ms
            step_seconds[event.step_key] = duration_ms / 1000.0
    # The model step's own engine seconds (load + scoring): the rest of the run is the pipeline's.
    materialized = [e.materialization for e in result.get_asset_materialization_events()]
    engine_s = [
        float(m.metadata[LOAD_SECONDS].value) + float(m.metadata[SCORING_SECONDS].value)
        for m in materialized
        if m.asset_key.path == ["frame_emotion_scores"] and SCORING_SECONDS in m.metadata
    ]
    checks = [
        (e.asset_check_evaluation_data.check_name, e.asset_check_evaluation_data.passed)
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    return {
        "success": result.success,
        "run_id": result.run_id,
        "wall_s": wall_s,
        "step_seconds": step_seconds,
        "engine_seconds": sum(engine_s) if engine_s else None,
        "checks": checks,
        "result": result,
    }
