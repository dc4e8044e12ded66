"""Kubernetes, checked offline: the Helm values, the model step's pod, the image.

No cluster and no helm binary exist here: the values are read with yaml.safe_load and checked
for what the official chart needs; the model step's pod is rendered by dagster-k8s's own job
builder (the one the celery-k8s executor calls for every step) from the real code location's
step tags and the launcher configuration in the values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from dagster._core.execution.api import create_execution_plan
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    construct_dagster_k8s_job,
    get_user_defined_k8s_config,
)
from kubernetes.client import ApiClient

from emotion_assets.deployment.celery_workers import QUEUE_TAG, celery_config
from emotion_assets.settings import (
    ExecutionSettings,
    KubernetesSettings,
    SettingsError,
    load_group,
)

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "k8s" / "values.yaml"
ENV_CONFIGMAP = REPO / "deploy" / "k8s" / "emotion-assets-env.yaml"
# The model step's work units: one mapped step per unit, known once the plan has run.
MODEL_STEP = "emotion_model_outputs.score_model_unit[?]"
CPU_STEP = "ingest_recordings.ingest_unit[?]"  # decoding: a CPU work unit
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def configmap_env() -> dict[str, str]:
    manifest = yaml.safe_load(ENV_CONFIGMAP.read_text())
    assert manifest["kind"] == "ConfigMap"
    return manifest["data"]


def names(refs: list[dict]) -> list[str]:
    return [ref["name"] for ref in refs]


@pytest.fixture(scope="module")
def step_tags() -> dict[str, dict[str, str]]:
    """Each step's tags in the code location, built with the ConfigMap's variables."""
    from emotion_assets.defs.location import build_definitions

    with pytest.MonkeyPatch.context() as mp:
        for key, value in configmap_env().items():
            mp.setenv(key, value)
        job = build_definitions().resolve_job_def("emotion_pipeline")
        plan = create_execution_plan(job, tags={"dagster/partition": "2024-06-03"})
        assert job.executor_def.name == "celery-k8s"
    return {step.key: dict(step.tags) for step in plan.get_all_steps_in_topo_order()}


def test_every_step_lands_on_a_queue_that_has_workers(
    step_tags: dict[str, dict[str, str]],
) -> None:
    launcher = values()["runLauncher"]["config"]["celeryK8sRunLauncher"]
    default = launcher["configSource"]["task_default_queue"]
    queue_of = {step: tags.get(QUEUE_TAG, default) for step, tags in step_tags.items()}
    served = {q["name"] for q in launcher["workerQueues"]}
    assert set(queue_of.values()) == served
    assert [s for s, q in queue_of.items() if q == ExecutionSettings().celery_gpu_queue] == [
        MODEL_STEP
    ]


def render_step_pod(step_key: str, tags: dict[str, str]) -> dict:
    """The step's Kubernetes Job as the celery-k8s executor builds it, as kubectl would show it."""
    chart = values()
    launcher = chart["runLauncher"]["config"]["celeryK8sRunLauncher"]
    deployment = chart["dagster-user-deployments"]["deployments"][0]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    # What the chart writes into the instance's CeleryK8sRunLauncher config.
    job_config = DagsterK8sJobConfig(
        job_image=image,  # DAGSTER_CURRENT_IMAGE, reported by the code server
        dagster_home=chart["global"]["dagsterHome"],
        instance_config_map="dagster-instance",
        postgres_password_secret=chart["global"]["postgresqlSecretName"],
        env_config_maps=["dagster-pipeline-env", *names(launcher["envConfigMaps"])],
        env_secrets=names(launcher["envSecrets"]),
        volumes=launcher["volumes"],
        volume_mounts=launcher["volumeMounts"],
    )
    job = construct_dagster_k8s_job(
        job_config,
        args=["dagster", "api", "execute_step", "..."],
        job_name=f"dagster-step-{step_key.replace('_', '-')}"[:63],
        user_defined_k8s_config=get_user_defined_k8s_config(tags),
        component="step_worker",
    )
    return ApiClient().sanitize_for_serialization(job)


def test_values_have_what_the_chart_needs() -> None:
    chart = values()
    assert chart["runLauncher"]["type"] == "CeleryK8sRunLauncher"
    launcher = chart["runLauncher"]["config"]["celeryK8sRunLauncher"]
    queues = {q["name"]: q for q in launcher["workerQueues"]}
    assert all(q["replicaCount"] >= 1 for q in queues.values())
    # The same queues and Celery settings as the one-machine stack (EMOTION_CELERY_*_QUEUE).
    execution = ExecutionSettings()
    assert set(queues) == {execution.celery_cpu_queue, execution.celery_gpu_queue}
    shared = celery_config(execution)
    assert {k: shared[k] for k in launcher["configSource"]} == launcher["configSource"]
    # The instance on PostgreSQL, with the psycopg2 driver dagster-postgres ships.
    pg = chart["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlHost"] and pg["postgresqlDatabase"]
    assert pg["postgresqlScheme"] == "postgresql+psycopg2"
    assert chart["global"]["postgresqlSecretName"] and not chart["generatePostgresqlPasswordSecret"]
    # The broker: Redis (as on one machine), its URLs in a Secret the chart does not generate.
    assert chart["redis"]["enabled"] and not chart["rabbitmq"]["enabled"]
    assert chart["global"]["celeryConfigSecretName"] and not chart["generateCeleryConfigSecret"]
    # The code location: our image and module, the same image for the workers.
    deployment = chart["dagster-user-deployments"]["deployments"][0]
    assert chart["dagster-user-deployments"]["enabled"]
    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    assert deployment["codeServerArgs"] == ["-m", module]
    assert deployment["image"] == launcher["image"]
    # Step pods and the code server read the same ConfigMap and Secret.
    assert names(deployment["envConfigMaps"]) == names(launcher["envConfigMaps"])
    assert names(deployment["envSecrets"]) == names(launcher["envSecrets"])


def test_no_secret_is_written_in_the_deploy_files() -> None:
    env = configmap_env()
    assert not set(CREDENTIALS) & set(env), "credentials belong in the Secret, not the ConfigMap"
    for path in (VALUES, ENV_CONFIGMAP):
        text = path.read_text()
        for key in (*CREDENTIALS, "password", "postgresqlPassword", "brokerUrl"):
            assert not re.search(rf"^\s*{key}\s*:\s*\S", text, re.M | re.I), (path, key)


def test_model_step_pod_asks_for_a_gpu_with_storage_env_from_configmap_and_secret(
    step_tags: dict[str, dict[str, str]],
) -> None:
    env = configmap_env()
    tags = step_tags[MODEL_STEP]
    assert "dagster-k8s/config" in tags
    pod = render_step_pod(MODEL_STEP, tags)["spec"]["template"]["spec"]
    container = pod["containers"][0]

    assert container["resources"]["limits"]["nvidia.com/gpu"] == env["EMOTION_K8S_GPU_COUNT"]
    key, value = env["EMOTION_K8S_GPU_NODE_SELECTOR"].split("=")
    assert pod["nodeSelector"] == {key: value}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert container["image"] == env["EMOTION_K8S_GPU_IMAGE"]  # the CUDA build

    # EMOTION_STORAGE_URL (and the rest) from the ConfigMap, credentials from the Secret.
    env_from = container["envFrom"]
    assert {"configMapRef": {"name": "emotion-assets-env"}} in env_from
    assert {"secretRef": {"name": "emotion-assets-s3"}} in env_from
    assert env["EMOTION_STORAGE_URL"].startswith("s3://")
    inline = {e["name"]: e for e in container.get("env", [])}
    assert not set(CREDENTIALS) & set(inline)
    assert "value" not in inline["DAGSTER_PG_PASSWORD"]
    assert (
        inline["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
        == (values()["global"]["postgresqlSecretName"])
    )
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in container["volumeMounts"]
    assert env["EMOTION_MODEL"].startswith("/models/")


def test_cpu_steps_get_no_gpu_and_the_code_location_image(
    step_tags: dict[str, dict[str, str]],
) -> None:
    assert "dagster-k8s/config" not in step_tags[CPU_STEP]
    pod = render_step_pod(CPU_STEP, step_tags[CPU_STEP])["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert "nvidia.com/gpu" not in json.dumps(container.get("resources") or {})
    assert "nodeSelector" not in pod
    deployment = values()["dagster-user-deployments"]["deployments"][0]
    assert container["image"] == f"{deployment['image']['repository']}:{deployment['image']['tag']}"


def test_off_kubernetes_no_step_carries_kubernetes_tags(
    tiny_model_dir: Path, data_dir: Path
) -> None:
    from emotion_assets.defs.location import build_definitions

    job = build_definitions().resolve_job_def("emotion_pipeline")
    plan = create_execution_plan(job, tags={"dagster/partition": "2024-06-03"})
    assert not [s.key for s in plan.get_all_steps_in_topo_order() if "dagster-k8s/config" in s.tags]
    assert job.executor_def.name != "celery-k8s"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EMOTION_K8S_GPU_TOLERATIONS", "nvidia.com/gpu"),
        ("EMOTION_K8S_GPU_TOLERATIONS", "nvidia.com/gpu:Sometimes"),
        ("EMOTION_K8S_GPU_NODE_SELECTOR", "gpu"),
        ("EMOTION_K8S_GPU_COUNT", "0"),
    ],
)
def test_bad_kubernetes_settings_name_the_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=rf"^{variable}=.* is not valid: "):
        load_group(KubernetesSettings)


def test_dockerfile_installs_the_lock_with_the_makefiles_uv() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    makefile = (REPO / "Makefile").read_text()
    uv = re.search(r"^UV_VERSION := (\S+)", makefile, re.M).group(1)
    assert f"ARG UV_VERSION={uv}\n" in dockerfile
    assert re.search(r"uv pip sync .*\\\n.* requirements\.lock", dockerfile)
    lock = (REPO / "requirements.lock").read_text()
    torch = re.search(r"^torch==(\S+)\+cpu$", lock, re.M).group(1)
    assert f"ARG TORCH_VERSION={torch}\n" in dockerfile  # the CUDA build replaces the same release


def test_the_venv_holds_compiled_bytecode_of_the_heavy_libraries() -> None:
    """`make setup` compiles the lock's modules at install: the machines and the image set
    PYTHONDONTWRITEBYTECODE=1, so a module without its .pyc is compiled from source by every
    process that imports it (GX's import: 16 s instead of 8 on these machines)."""
    import importlib.util

    for name in ("torch", "dagster", "great_expectations", "polars"):
        source = importlib.util.find_spec(name).origin
        assert Path(importlib.util.cache_from_source(source)).is_file(), name


def test_the_image_compiles_bytecode_too() -> None:
    """The image sets PYTHONDONTWRITEBYTECODE=1 as well: every install in it compiles."""
    dockerfile = (REPO / "Dockerfile").read_text()
    installs = re.findall(r"uv pip (?:sync|install)[^\n]*", dockerfile)
    lock_installs = [line for line in installs if "-e ." not in line]
    assert lock_installs and all("--compile-bytecode" in line for line in lock_installs)
    assert "compileall -q emotion_assets" in dockerfile  # its own package, never edited there
