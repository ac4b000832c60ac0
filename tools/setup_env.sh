#!/usr/bin/env bash
# Create (or refresh) .venv with the pinned, verified OpenMMLab stack and
# peclr_mm itself. Idempotent: a second run with a warm cache takes well under
# a minute. Usage: bash tools/setup_env.sh   (or: make setup)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
MMCV_VERSION=2.1.0
CACHE="${PECLR_CACHE:-$HOME/.cache/peclr_mm}"
STAMP="$VENV/.peclr_setup_stamp"
start=$(date +%s)

# pip warns about every package the machine's local mirrors do not hold;
# that noise hides real errors.
quiet_pip() {
  "$PY" -m pip "$@" 2>&1 | { grep -v -E 'is ignored: it is neither|^$' || true; }
  return "${PIPESTATUS[0]}"
}

find_python() {
  for cand in "${PYTHON:-}" python3.11 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 && \
        "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$cand"; return 0
    fi
  done
  echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

stamp_key() {
  cat requirements/*.txt setup.py tools/setup_env.sh | sha256sum | cut -c1-16
}

if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_key)" ] \
    && "$PY" tools/verify_env.py --quiet; then
  echo "setup: .venv is up to date ($(( $(date +%s) - start )) s)"
  exit 0
fi

if [ ! -x "$PY" ]; then
  BASE_PY=$(find_python)
  echo "setup: creating .venv with $BASE_PY"
  "$BASE_PY" -m venv "$VENV"
fi

echo "setup: torch pair, build tools and runtime requirements"
quiet_pip install -q -r requirements/build.txt
quiet_pip install -q -r requirements/torch.txt
quiet_pip install -q -c requirements/torch.txt \
  -r requirements/runtime.txt -r requirements/tests.txt

TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
WHEELS="$CACHE/wheels/torch-$TORCH_VERSION"
if ! "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" \
    >/dev/null 2>&1; then
  wheel=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    echo "setup: building mmcv $MMCV_VERSION with ops from source" \
         "(about 20 minutes on 2 cores; cached in $WHEELS)"
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    quiet_pip download -q --no-deps --no-binary :all: --no-build-isolation \
      -d "$src" "mmcv==$MMCV_VERSION"
    tar -xzf "$src"/mmcv-$MMCV_VERSION.tar.gz -C "$src"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes c++14/17.
    sed -i 's/-std=c++1[47]/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$WHEELS"
    MAX_JOBS="${MAX_JOBS:-$(nproc)}" MMCV_WITH_OPS=1 quiet_pip wheel -q \
      --no-deps --no-build-isolation -w "$src/wheel" "$src/mmcv-$MMCV_VERSION"
    # Move into the cache only once complete: a killed build leaves nothing.
    mv "$src"/wheel/mmcv-$MMCV_VERSION-*.whl "$WHEELS/"
    wheel=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl | head -n 1)
  fi
  echo "setup: installing $(basename "$wheel")"
  quiet_pip install -q --no-deps --force-reinstall "$wheel"
fi

echo "setup: OpenMMLab packages (--no-deps) and peclr_mm"
quiet_pip install -q --no-deps -r requirements/openmmlab.txt
quiet_pip install -q --no-deps -r requirements/mediapipe.txt
# A setup.py develop install (not PEP 660, see requirements/build.txt) so
# that mim resolves the package to this checkout, where peclr_mm/.mim links
# configs and tools.
quiet_pip install -q --no-deps --no-build-isolation --no-use-pep517 -e .

"$PY" tools/verify_env.py
stamp_key > "$STAMP"
echo "setup: done in $(( $(date +%s) - start )) s"
