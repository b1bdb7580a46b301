#!/usr/bin/env bash
# Quick start: install what is missing, then start the cluster (arguments go to `serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/minikube-py serve "$@"
