#!/usr/bin/env bash
# Create .venv-harbor: Harbor 0.25.0 (pinned), in its own virtual environment because Harbor needs
# Python >= 3.12 while asibench-env runs on 3.11. The Harbor export's tests load every exported task
# folder with Harbor's own task loader through .venv-harbor/bin/python (tests/test_integration_harbor.py).
# Usage: bash scripts/harbor-venv.sh [.venv/bin]   (the folder holding uv; default .venv/bin)
set -euo pipefail
cd "$(dirname "$0")/.."

HARBOR_VERSION=0.25.0
VENV=.venv-harbor
BIN=${1:-.venv/bin}
STAMP=$VENV/.installed-$HARBOR_VERSION

if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then
  exit 0  # already made for this Harbor version
fi

is_new_enough() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

python=""
candidates=()
for name in python3.12 python3.13; do
  if command -v "$name" >/dev/null; then candidates+=("$(command -v "$name")"); fi
done
if command -v pyenv >/dev/null; then
  for version in $(pyenv versions --bare 2>/dev/null | sort -V); do
    candidates+=("$(pyenv root)/versions/$version/bin/python")
  done
fi
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*; do
  [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
done
for candidate in "${candidates[@]}"; do
  if [ -x "$candidate" ] && is_new_enough "$candidate"; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "Harbor $HARBOR_VERSION needs Python >= 3.12, and none was found (python3.13 and python3.12 on PATH," >&2
  echo "pyenv's versions). Install one, e.g. 'pyenv install 3.12' or Debian's/your distribution's python3.12" >&2
  echo "package, then run 'make harbor-venv' again." >&2
  exit 1
fi

echo "Creating $VENV with $python ($("$python" --version 2>&1)) and harbor==$HARBOR_VERSION"
rm -rf "$VENV"
if [ -x "$BIN/uv" ]; then
  "$BIN/uv" venv --quiet --python "$python" "$VENV"
  "$BIN/uv" pip install --quiet --python "$VENV/bin/python" "harbor==$HARBOR_VERSION"
else
  "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "harbor==$HARBOR_VERSION"
fi
"$VENV/bin/python" -c "import harbor.models.task.task" >/dev/null
touch "$STAMP"
