#!/usr/bin/env bash
# Install the project with its test extras into .venv, then lint, type-check and run every test.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/bootstrap.sh test

echo "test: ruff"
.venv/bin/ruff check src tests benchmarks
echo "test: mypy"
.venv/bin/mypy
echo "test: import-linter"
.venv/bin/lint-imports
echo "test: pytest"
exec .venv/bin/python -m pytest "$@"
