#!/usr/bin/env bash
# bench/gpu_check.sh OUTDIR [--dry-run] [bench.gpu_check options]
#   The engine (bf16, batched windows, batch-size sweep) and funasr's generate on one GPU, on the
#   full-size random model and one 10-minute input; JSON + Markdown into OUTDIR. < 8 min on an H200.
# bench/gpu_check.sh --fetch-wheels
#   Here, where pip reaches PyPI: download the Python 3.12 wheels the GPU machine lacks (listed
#   in bench/gpu_wheels.txt) into .whl/ (git-ignored), to be carried there with the working tree.
# The GPU machine's own python3 must hold a CUDA build of torch (a CUDA torch wheel is far over
# what can be carried): the script uses it as it is. bench/README.md, "On a GPU", says more.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${GPU_WHEELS:-.whl}

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  mkdir -p "$WHEELS"
  for req in $(grep -v -e '^#' -e '^$' bench/gpu_wheels.txt); do
    # a cp312 manylinux (or pure-Python) wheel from the index; a package published only as an
    # sdist (jieba) is pure Python: build its wheel here, it installs on any Python 3
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform any -d "$WHEELS" "$req" 2>/dev/null \
      || "$PYTHON" -m pip wheel --quiet --no-deps -w "$WHEELS" "$req"
  done
  du -sh "$WHEELS"
  exit 0
fi

out=${1:?usage: bench/gpu_check.sh OUTDIR [--dry-run] | --fetch-wheels}
shift
mkdir -p "$out"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  site=${TMPDIR:-/tmp}/gpu-check-site
  "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "$WHEELS"/*.whl
  export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader >"$out/nvidia-smi.txt" 2>&1 || true
export PYTHONUNBUFFERED=1
exec timeout 470 "$PYTHON" -m bench.gpu_check --out "$out" "$@"
