#!/usr/bin/env bash
# Regenerates the hash-locked requirement files from their sources:
#   docker/requirements.lock        the image's runtime dependencies (pyproject.toml, "fast" extra)
#   docker/build-requirements.lock  what builds the exporter's wheel in the image
#                                   (pyproject.toml's build-system.requires, and pip)
#   docker/test-tools.lock          tools the tests run: Compose v2, kubernetes-validate
#                                   (docker/test-tools.in)
# Run it after changing a dependency; tests/test_lock.py checks that the files agree.
#
#   bash docker/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
UV_VERSION=0.13.8

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q "uv==$UV_VERSION"
compile=("$tools/venv/bin/uv" pip compile --quiet --generate-hashes --universal
    --python-version 3.11 --custom-compile-command "bash docker/lock.sh")

"${compile[@]}" --extra fast --output-file docker/requirements.lock pyproject.toml
"${compile[@]}" --output-file docker/test-tools.lock docker/test-tools.in
"$tools/venv/bin/python" - "$tools/build-system.in" <<'PY'
import sys
import tomllib

with open("pyproject.toml", "rb") as file:
    requires = tomllib.load(file)["build-system"]["requires"]
with open(sys.argv[1], "w") as file:
    file.write("\n".join([*requires, "pip"]) + "\n")
PY
(cd "$tools" && "${compile[@]}" --output-file "$repo/docker/build-requirements.lock" build-system.in)
