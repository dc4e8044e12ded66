"""Where the code location runs: the Dagster instance file, the Celery workers' configuration and
the pods the model step asks Kubernetes for (docs/deploy.md). No Dagster import."""
