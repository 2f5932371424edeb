#!/usr/bin/env bash
# A stand-in for the python:3.11.14-slim-bookworm base image, for machines that cannot pull from
# Docker Hub: a minimal Debian bookworm root filesystem with Debian's Python 3.11 (python,
# python -m venv, the CA certificates), written as a tarball for `docker import`.
#
#   bash docker/standin/rootfs.sh OUTPUT.tar
#
# The Debian mirror is the one this host's apt uses (override with DEBIAN_MIRROR), and apt's
# proxy, when it has one, is used too. Needs root and debootstrap.
set -euo pipefail
out=$(realpath "$1")

mirror=${DEBIAN_MIRROR:-$(apt-get indextargets --format '$(SITE) $(RELEASE)' |
    awk '$2 == "bookworm" { print $1; exit }')}
if [ -z "$mirror" ]; then
    echo "rootfs.sh: no bookworm source in this host's apt configuration; set DEBIAN_MIRROR" >&2
    exit 1
fi
proxy=$(apt-config shell value Acquire::http::Proxy | sed -n "s/^value='\(.*\)'$/\1/p")
[ -z "$proxy" ] || export http_proxy="$proxy"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >&2
# Where the official image has them.
ln -s /usr/bin/python3 "$root/usr/local/bin/python"
ln -s /usr/bin/python3 "$root/usr/local/bin/python3"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar --numeric-owner --xattrs -C "$root" -cf "$out.partial" .
mv "$out.partial" "$out"
