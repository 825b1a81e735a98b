#!/usr/bin/env bash
# Create or update the project's virtual environment in .venv, idempotently.
#   scripts/bootstrap.sh            install the project
#   scripts/bootstrap.sh test       install the project with its test extras
# Fast when already installed: a stamp keyed on pyproject.toml and the extras skips pip.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-python3}"
venv=".venv"

if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating $venv with $($python --version)"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp="$venv/.neura-scholar-installed-${extras:-base}"
want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

echo "bootstrap: installing torch==2.13.0 first, then the project ($spec)"
# torch first and pinned: anything that depends on it must find it already installed.
"$venv/bin/python" -m pip install --quiet "torch==2.13.0"
"$venv/bin/python" -m pip install --quiet -e "$spec"
echo "$want" > "$stamp"
