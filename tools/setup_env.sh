#!/usr/bin/env bash
# Build the whole stack into a virtual environment; idempotent (a second run takes seconds).
#   bash tools/setup_env.sh [VENV_DIR]      default: .venv
# Full mmcv 2.1.0 (with CPU ops) is built from the PyPI sdist once and its wheel cached in
# $MMSIMMM_WHEEL_CACHE (default ~/.cache/mmsimmm/wheels), keyed by torch version.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$ROOT/.venv}"
CACHE="${MMSIMMM_WHEEL_CACHE:-$HOME/.cache/mmsimmm/wheels}"
STAMP="$VENV/.mmsimmm-stack"
REQ_HASH=$(cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha1sum | cut -c1-12)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$REQ_HASH" ]; then
  echo "[setup_env] $VENV is up to date"
  exit 0
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
pip install -q -r "$ROOT/requirements/torch.txt"

TORCH_VERSION=$(python -c 'import torch; print(torch.__version__.split("+")[0])')
WHEEL_DIR="$CACHE/mmcv-2.1.0-torch$TORCH_VERSION"
if ! python -c 'import mmcv.ops' >/dev/null 2>&1; then
  if ! ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    echo "[setup_env] building full mmcv 2.1.0 from source (about 15 min on 2 cores)"
    BUILD="$(mktemp -d)"
    pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$BUILD" mmcv==2.1.0
    tar xzf "$BUILD/mmcv-2.1.0.tar.gz" -C "$BUILD"
    # torch >= 2.14 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17 last on the line.
    sed -i "s/'-std=c++17'/'-std=c++20'/" "$BUILD/mmcv-2.1.0/setup.py"
    # -O1 -g0 (appended after Python's "-g -O3") halve the build on 2 cores
    # (measured 31 s -> 17 s on one op); mmcv's CPU ops are not on mmsimmm's
    # hot path (models use torch's own convolutions).
    CFLAGS="${MMCV_CFLAGS:--O1 -g0}" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="$(nproc)" \
      pip wheel -q --no-cache-dir --no-deps --no-build-isolation -w "$WHEEL_DIR.tmp" "$BUILD/mmcv-2.1.0"
    mkdir -p "$WHEEL_DIR" && mv "$WHEEL_DIR.tmp"/mmcv-2.1.0-*.whl "$WHEEL_DIR"/ && rm -rf "$WHEEL_DIR.tmp" "$BUILD"
  fi
  pip install -q --no-deps "$WHEEL_DIR"/mmcv-2.1.0-*.whl
fi
pip install -q -r "$ROOT/requirements/mmstack.txt" -r "$ROOT/requirements/tests.txt"
pip install -q --no-deps --no-build-isolation -e "$ROOT"
# the stack imports as a whole (mmcv ops, mmaction2 with the drn fix)
python -c 'import mmsimmm, mmcv.ops, mmseg.models, mmpretrain.models, mmaction.models'
echo "$REQ_HASH" > "$STAMP"
echo "[setup_env] ready: $VENV"
