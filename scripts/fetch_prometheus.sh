#!/usr/bin/env bash
# Fetches the newer Prometheus and Alertmanager the tests run beside Debian 12's (Prometheus 2.42,
# Alertmanager 0.25): Prometheus and promtool 3.5 (the long-term-support line) from Debian sid,
# Alertmanager 0.28 from Debian trixie. They are downloaded with `apt-get download` under a
# private apt configuration (its own sources list naming this machine's Debian mirror, its own
# lists, cache and status), unpacked with `dpkg-deb -x` and kept in the cache directory:
#
#   ${XDG_CACHE_HOME:-~/.cache}/binance-pm-exporter/prometheus-3.5/bin/{prometheus,promtool}
#   ${XDG_CACHE_HOME:-~/.cache}/binance-pm-exporter/alertmanager-0.28/bin/{prometheus-alertmanager,amtool}
#
# The host's /etc/apt and its installed packages are left as they are. A second run finds the
# cache and does nothing. tests/support/versions.py reads the same directories.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/binance-pm-exporter"
apt_dir="$cache/apt"

# name of the cache directory, Debian suite, version pattern, packages
wanted=(
    "prometheus-3.5 sid 3.5.* prometheus promtool"
    "alertmanager-0.28 trixie 0.28.* prometheus-alertmanager"
)

missing=()
for entry in "${wanted[@]}"; do
    read -r name _ <<<"$entry"
    [ -s "$cache/$name/version" ] || missing+=("$entry")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

# The machine's own Debian mirror: the one its apt fetches its own release from (apt's proxy, if
# it has one, applies as well).
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
mirror="$(apt-get indextargets --format '$(SITE) $(RELEASE)' 2>/dev/null \
    | awk -v release="$codename" '$2 == release { print $1; exit }')" || true
mirror="${mirror:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial,sources.list.d,preferences.d,debs}
: >"$apt_dir/status"
{
    echo "deb [signed-by=$keyring] $mirror trixie main"
    echo "deb [signed-by=$keyring] $mirror sid main"
} >"$apt_dir/sources.list"
apt_options=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::Etc::Preferences=$apt_dir/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Sandbox::User=$(id -un)"
)
apt-get "${apt_options[@]}" -qq update

for entry in "${missing[@]}"; do
    read -r name suite pattern packages <<<"$entry"
    unpacked="$(mktemp -d "$cache/.unpack.XXXXXX")"
    for package in $packages; do
        # The newest version of the suite that matches the pattern.
        version="$(
            apt-cache "${apt_options[@]}" madison "$package" 2>/dev/null \
                | awk -F' *[|] *' -v suite="$suite/" '
                    index($3, suite) { print $2 }' \
                | while read -r candidate; do
                    # shellcheck disable=SC2254
                    case "$candidate" in $pattern) echo "$candidate" ;; esac
                done | head -n 1
        )" || true
        if [ -z "$version" ]; then
            echo "fetch_prometheus.sh: no $package $pattern in Debian $suite at $mirror" >&2
            exit 1
        fi
        (cd "$apt_dir/debs" && apt-get "${apt_options[@]}" -qq download "$package=$version")
        dpkg-deb -x "$apt_dir/debs/${package}_${version//:/%3a}_"*.deb "$unpacked"
        echo "$package $version" >>"$unpacked/version.txt"
    done
    rm -rf "${cache:?}/$name"
    mkdir -p "$cache/$name"
    mv "$unpacked/usr/bin" "$cache/$name/bin"
    mv "$unpacked/version.txt" "$cache/$name/version"
    rm -rf "$unpacked"
done
rm -f "$apt_dir"/debs/*.deb
