#!/usr/bin/env bash
# Sets up everything the tests need (Debian's prometheus for promtool and the server, valgrind
# for the benchmark's instruction counts, docker.io, debootstrap and prometheus-alertmanager for
# the image and Compose tests, jsonnet for jsonnetfmt, chromium for the landing page's browser
# test, a virtualenv with the package and its
# test extras, and one with the hash-locked tools of docker/test-tools.lock: Compose v2, kubectl,
# kubernetes-validate; Prometheus 3.5 and Alertmanager 0.28 from Debian's newer suites, kept in
# ~/.cache/binance-pm-exporter by scripts/fetch_prometheus.sh), then runs the linters
# (jsonnetfmt on the mixin too), checks that the committed alert rules and dashboards equal the
# mixin's rendering, and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null \
    || missing+=(prometheus-alertmanager)
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || missing+=(valgrind)
command -v dockerd >/dev/null && command -v docker >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v chromium >/dev/null || missing+=(chromium)
command -v jsonnetfmt >/dev/null || missing+=(jsonnet)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi

bash scripts/fetch_prometheus.sh

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
python3 -m venv .venv/tools
.venv/tools/bin/python -m pip install -q --require-hashes -r docker/test-tools.lock

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
find mixin -name '*.libsonnet' -print0 | xargs -0 jsonnetfmt --test
.venv/bin/python scripts/render_mixin.py --check
.venv/bin/pytest -q "$@"
