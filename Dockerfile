# The code location's image (Kubernetes: deploy/k8s/values.yaml, docs/deploy.md "Kubernetes").
# It runs the code server, the Celery workers and every step pod.
#
#   CPU (default):  docker build -t registry.example.com/emotion-assets:0.1.0-cpu .
#   CUDA:           docker build --build-arg TORCH_VARIANT=cu128 \
#                     -t registry.example.com/emotion-assets:0.1.0-cu128 .
#
# Like `make setup`, uv installs exactly requirements.lock. The lock pins the CPU torch wheel
# (torch==2.13.0+cpu), taken from PyTorch's CPU index; TORCH_VARIANT=cuXYZ then replaces it with
# the CUDA build of the same release from PyTorch's cuXYZ index, which brings its CUDA libraries
# (nvidia-* wheels), so the base image needs no CUDA toolkit: only the node's NVIDIA driver.
FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
ARG TORCH_VERSION=2.13.0
ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX=https://download.pytorch.org/whl

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    EMOTION_DATA_DIR=/tmp/emotion-scratch \
    GX_ANALYTICS_ENABLED=false

RUN pip install --no-cache-dir uv==${UV_VERSION} && uv venv --python /usr/local/bin/python3.11 /opt/venv

WORKDIR /opt/emotion-assets
COPY pyproject.toml requirements.lock ./
# --compile-bytecode: PYTHONDONTWRITEBYTECODE=1 (above) means no .pyc is ever written at run
# time, so without it every process would compile torch, Dagster and GX from source (Makefile).
RUN uv pip sync --no-cache --compile-bytecode --python /opt/venv/bin/python \
      --extra-index-url ${TORCH_INDEX}/cpu --index-strategy unsafe-best-match requirements.lock \
 && if [ "${TORCH_VARIANT}" != "cpu" ]; then \
      uv pip install --no-cache --compile-bytecode --python /opt/venv/bin/python \
        --index-url ${TORCH_INDEX}/${TORCH_VARIANT} --extra-index-url https://pypi.org/simple \
        --index-strategy unsafe-best-match "torch==${TORCH_VERSION}+${TORCH_VARIANT}"; \
    fi

COPY README.md workspace.yaml ./
COPY deploy ./deploy
COPY emotion_assets ./emotion_assets
# Editable, as `make setup`: the code finds deploy/ (instance config) beside the package.
RUN uv pip install --no-cache --python /opt/venv/bin/python --no-deps -e . \
 && python -m compileall -q emotion_assets \
 && mkdir -p ${DAGSTER_HOME} ${EMOTION_DATA_DIR} \
 && useradd --uid 10001 --create-home emotion \
 && chown -R emotion ${DAGSTER_HOME} ${EMOTION_DATA_DIR}
USER emotion

EXPOSE 3030
# The chart's user deployment passes its own arguments (codeServerArgs); this default serves the
# same code location when the image runs alone.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "3030", "-m", "emotion_assets.definitions"]
