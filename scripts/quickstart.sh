#!/usr/bin/env bash
# Install simgen into ./.venv and render a small labelled dataset of the built-in default scene:
#   out/default/{images/, annotations.json, manifest.json, preview.png}
set -euo pipefail
cd "$(dirname "$0")/.."
SIMGEN_EXTRAS=${SIMGEN_EXTRAS:-test} bash scripts/install.sh
. .venv/bin/activate
simgen render scene=default n_images=${N_IMAGES:-16} output_dir=out/default overwrite=true "$@"
echo "done: open out/default/preview.png; COCO labels in out/default/annotations.json"
