"""The code location's executor, chosen by EMOTION_EXECUTOR (ExecutionSettings).

`in_process` (default): every step of a run in the run's own process (`make demo` needs no
broker). `celery`: Dagster's own Celery executor (dagster_celery) on the configured broker; the
model step carries the GPU queue's tag (emotion/assets.py), every other step goes to the CPU
queue. The only addition to dagster_celery is a check before the first step: the broker answers
and a worker listens on every queue the run needs, else the run fails in one sentence instead
of waiting forever (emotion_assets.deployment.celery_workers.wait_for_workers).
"""

from __future__ import annotations

from dagster import (
    ExecutorDefinition,
    Failure,
    Field,
    executor,
    in_process_executor,
    multiple_process_executor_requirements,
)

# Dagster has no public RetryMode; dagster_celery's own executor imports it from here, and so must
# this subclass to accept the same `retries` config (pinned Dagster: tests/deploy catch a move).
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster_celery.executor import CeleryExecutor

from emotion_assets.deployment.celery_workers import (
    QUEUE_TAG,
    ExecutionSetupError,
    celery_config,
    wait_for_workers,
)
from emotion_assets.settings import ExecutionSettings


class CheckedCeleryExecutor(CeleryExecutor):
    """dagster_celery's executor, after checking that the broker and the queues' workers exist."""

    def __init__(self, settings: ExecutionSettings, worker_wait_s: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.worker_wait_s = worker_wait_s

    def execute(self, plan_context, execution_plan):
        steps = [execution_plan.get_step_by_key(k) for k in execution_plan.step_keys_to_execute]
        queues = {step.tags.get(QUEUE_TAG, self.settings.celery_cpu_queue) for step in steps}
        try:
            found = wait_for_workers(self.settings, queues, timeout_s=self.worker_wait_s)
        except ExecutionSetupError as exc:
            plan_context.log.error(str(exc))
            raise Failure(description=str(exc), allow_retries=False) from None
        plan_context.log.info(
            "Celery workers listening: "
            + "; ".join(f"queue {q}: {', '.join(w)}" for q, w in sorted(found.items()))
        )
        yield from super().execute(plan_context, execution_plan)


def celery_executor_def(settings: ExecutionSettings) -> ExecutorDefinition:
    """The Celery executor with the settings as its config defaults (a run may override them)."""

    @executor(
        name="celery",
        config_schema={
            "broker": Field(str, default_value=settings.celery_broker),
            "backend": Field(str, default_value=settings.result_backend),
            "worker_wait_s": Field(float, default_value=settings.celery_worker_wait_s),
            "retries": get_retries_config(),
        },
        requirements=multiple_process_executor_requirements(),
    )
    def _celery(init_context) -> CheckedCeleryExecutor:
        config = init_context.executor_config
        effective = settings.model_copy(
            update={"celery_broker": config["broker"], "celery_backend": config["backend"]}
        )
        return CheckedCeleryExecutor(
            settings=effective,
            worker_wait_s=config["worker_wait_s"],
            broker=effective.celery_broker,
            backend=effective.result_backend,
            config_source=celery_config(effective),
            retries=RetryMode.from_config(config["retries"]),
        )

    return _celery


def build_executor(settings: ExecutionSettings) -> ExecutorDefinition:
    if settings.executor == "celery":
        return celery_executor_def(settings)
    # One process per run: torch, funasr and GX are imported and the model is loaded once per
    # run, not once per step (a multiprocess run of one day took 5 min, mostly imports;
    # in-process ~1 min). Days run in parallel as separate runs.
    return in_process_executor
