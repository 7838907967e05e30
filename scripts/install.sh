#!/usr/bin/env bash
# Install simgen and everything it needs into ./.venv (idempotent). Used by quickstart.sh and .ci/run.
#   SIMGEN_EXTRAS  pip extras to install (default: eval,test,sweep,ray,pathtrace,ultralytics; quickstart: test)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
EXTRAS=${SIMGEN_EXTRAS:-eval,test,sweep,ray,pathtrace,ultralytics}
step() { echo "simgen install: $*"; }

# pip's own lines, reduced to what it is fetching and what it installed (the rest goes to .venv/install.log)
pip_install() {
  python -m pip install --progress-bar off "$@" 2>&1 | tee -a .venv/install.log \
    | grep --line-buffered -E "^(Collecting|Successfully installed|ERROR)" | sed -u 's/^/  pip: /' || true
}

# Headless OpenGL: Mesa's EGL (llvmpipe on CPU; the NVIDIA driver provides its own EGL on GPU machines).
# The path tracer's fast variant (Mitsuba llvm_ad_rgb) needs libLLVM >= 19 (else it uses scalar_rgb, ~2x slower).
apt_pkgs=()
ldconfig -p 2>/dev/null | grep -q "libEGL.so.1" || apt_pkgs+=(libegl1 libgl1 libgles2 libgbm1 libgl1-mesa-dri)
if [[ ",$EXTRAS," == *",pathtrace,"* ]] && ! ldconfig -p 2>/dev/null | grep -qE "libLLVM(-|\.so\.)(19|[2-9][0-9])"; then
  apt_pkgs+=(libllvm19)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    step "system libraries: apt-get install ${apt_pkgs[*]} (about a minute)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null \
      || echo "warning: apt-get install ${apt_pkgs[*]} failed; rendering needs Mesa's EGL (libegl1 libgl1-mesa-dri)" >&2
  else
    echo "warning: not root: install ${apt_pkgs[*]} yourself (Debian/Ubuntu: sudo apt-get install ${apt_pkgs[*]})" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $PY"
  "$PY" -m venv .venv
fi
. .venv/bin/activate
: > .venv/install.log
step "upgrading pip"
python -m pip install -q --upgrade pip >> .venv/install.log 2>&1 || true

if [[ ",$EXTRAS," == *",eval,"* ]] && ! python -c "import torch, torchvision" >/dev/null 2>&1; then
  # Pin the torch build that pip finds locally on our CI machines; anywhere else pip picks a build for the
  # range in pyproject.toml (CPU or CUDA).
  if [ "$(uname -m)" = "x86_64" ]; then
    step "torch 2.14.1 + torchvision 0.29.1 (the longest step: ~1-2 min)"
    pip_install "torch==2.14.1" "torchvision==0.29.1" || pip_install "torch>=2.1,<=2.14.1" "torchvision>=0.16,<=0.29.1"
  fi
fi
step "simgen and its packages (extras: $EXTRAS)"
pip_install -e ".[${EXTRAS}]"
python -c "import simgen, pyrender, pybullet, pycocotools" 2>>.venv/install.log || { echo "simgen install failed (see .venv/install.log)" >&2; exit 1; }
step "done: simgen installed in $(pwd)/.venv (details in .venv/install.log)"
