"""What the model step asks Kubernetes for: GPUs on a GPU node (docs/deploy.md#kubernetes).

Pure module (no Dagster, no Kubernetes client): it builds the value of the `dagster-k8s/config`
tag, which dagster-k8s's job builder (used by the celery-k8s executor for every step) turns
into the step's pod. Everything else a step pod needs (image, EMOTION_* variables from a
ConfigMap, S3 credentials from a Secret) comes from the run launcher's configuration in the Helm
values (deploy/k8s/values.yaml), the same for every step.
"""

from __future__ import annotations

from emotion_assets.settings import KubernetesSettings

K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_RESOURCE = "nvidia.com/gpu"


def toleration(spec: str) -> dict[str, str]:
    """`key[=value]:Effect` as a Kubernetes toleration (Exists when no value is given)."""
    key_value, _, effect = spec.rpartition(":")
    key, sep, value = key_value.partition("=")
    if sep:
        return {"key": key, "operator": "Equal", "value": value, "effect": effect}
    return {"key": key, "operator": "Exists", "effect": effect}


def model_step_k8s_config(k8s: KubernetesSettings) -> dict:
    """The `dagster-k8s/config` tag of the model step: GPU limit, node selector, tolerations."""
    gpus = str(k8s.k8s_gpu_count)
    image = {"image": k8s.k8s_gpu_image} if k8s.k8s_gpu_image else {}
    return {
        "container_config": {
            **image,
            "resources": {
                # Extended resources such as GPUs are given in limits (requests follow them).
                "limits": {GPU_RESOURCE: gpus, "memory": k8s.k8s_gpu_memory},
                "requests": {"cpu": k8s.k8s_gpu_cpu, "memory": k8s.k8s_gpu_memory},
            },
        },
        "pod_spec_config": {
            "node_selector": dict(k8s.k8s_gpu_node_selector),
            "tolerations": [toleration(spec) for spec in k8s.k8s_gpu_tolerations],
        },
    }


def model_step_tags(k8s: KubernetesSettings) -> dict[str, dict]:
    """Op tags for the model step: the GPU pod on Kubernetes, nothing anywhere else."""
    return {K8S_CONFIG_TAG: model_step_k8s_config(k8s)} if k8s.k8s else {}
