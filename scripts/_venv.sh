# Sourced by scripts/up and scripts/test: make .venv and install jetkube into it.
# JETKUBE_INSTALL=editable (default for developers) or wheel (CI: proves `pip install .`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JETKUBE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "jetkube needs Python >= 3.11 (found: $("$PY" --version 2>&1))" >&2; exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "== jetkube: creating $VENV (first run: pip then fetches the dependencies, ~30 s)"
  "$PY" -m venv "$VENV" || { echo "python3 -m venv failed: install python3-venv" >&2; exit 1; }
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
extras="${1:-}"
echo "== jetkube: installing jetkube${extras} into $VENV"
# setuptools' editable install announces its import finder in a warning box on every install
# (InformationOnly, a UserWarning): nothing to act on, so pip's build is run without it
quiet=(env PYTHONWARNINGS=ignore::UserWarning)
if [ "${JETKUBE_INSTALL:-editable}" = "wheel" ]; then
  "${quiet[@]}" python -m pip install -q "$ROOT$extras" 2>&1 | grep -v "^WARNING: Location" || true
else
  "${quiet[@]}" python -m pip install -q -e "$ROOT$extras" 2>&1 | grep -v "^WARNING: Location" || true
fi
python -c 'import jetkube.services.apiserver.main, jetkube.cli.main' \
  || { echo "jetkube did not install into $VENV" >&2; exit 1; }
