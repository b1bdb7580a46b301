#!/usr/bin/env bash
# Quick start for developers: install what is missing, then run the checks and the whole
# test suite (unit and end-to-end; the e2e tests start their own containerd).
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff" >&2
ruff check minikube_py tests scripts
echo "== mypy" >&2
mypy minikube_py
echo "== import contracts" >&2
lint-imports
echo "== pytest" >&2
exec pytest -q "$@"
