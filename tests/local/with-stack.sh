#!/usr/bin/env bash
# Runs a command with the local AWS stack up: starts moto and provisions the resources
# (tests/local/stack.py up), exports .local/stack.env, runs "$@", and stops moto by PID on exit,
# whatever the command's outcome.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
py="$root/.local/venv/bin/python"
"$py" "$root/tests/local/stack.py" up
trap '"$py" "$root/tests/local/stack.py" down' EXIT
set -a
# shellcheck disable=SC1091
. "$root/.local/stack.env"
set +a
export PATH="$root/.local/venv/bin:$PATH"
"$@"
