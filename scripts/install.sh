#!/usr/bin/env bash
# Install simgen and everything it needs into ./.venv (idempotent). Used by quickstart.sh and .ci/run.
#   SIMGEN_EXTRAS  pip extras to install (default: eval,test,sweep)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

# Headless OpenGL: Mesa's EGL (llvmpipe on CPU; the NVIDIA driver provides its own EGL on GPU machines).
if ! ldconfig -p 2>/dev/null | grep -q "libEGL.so.1"; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "installing Mesa EGL (apt-get install libegl1 libgl1 libgles2 libgbm1 libgl1-mesa-dri)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libegl1 libgl1 libgles2 libgbm1 libgl1-mesa-dri >/dev/null
  else
    echo "warning: libEGL not found; install Mesa EGL (Debian/Ubuntu: sudo apt-get install libegl1 libgl1 libgbm1 libgl1-mesa-dri)" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true

EXTRAS=${SIMGEN_EXTRAS:-eval,test,sweep}
if [[ ",$EXTRAS," == *",eval,"* ]] && ! python -c "import torch, torchvision" >/dev/null 2>&1; then
  # Pin the torch build that pip finds locally on our CI machines; anywhere else pip picks a build for the
  # range in pyproject.toml (CPU or CUDA).
  if [ "$(uname -m)" = "x86_64" ]; then
    python -m pip install -q "torch==2.14.1" "torchvision==0.29.1" 2>&1 | grep -v "^WARNING: Location" || \
      python -m pip install -q "torch>=2.1,<=2.14.1" "torchvision>=0.16,<=0.29.1" 2>&1 | grep -v "^WARNING: Location" || true
  fi
fi
python -m pip install -q -e ".[${EXTRAS}]" 2>&1 | grep -v "^WARNING: Location" || true
python -c "import simgen, pyrender, pybullet, pycocotools" || { echo "simgen install failed" >&2; exit 1; }
echo "simgen installed in $(pwd)/.venv"
