"""A Docker engine of the tests' own, and the images they run in it (a pytest plugin: the test
modules that need it name it in `pytest_plugins`).

The engine is Debian's dockerd with its own configuration, data root, exec root, socket and pid
file in a temporary directory, started once per test session by the first test that asks for it
and stopped at the session's end, whatever the tests did. It leaves the host's network set-up as
it found it: no iptables rules, no IP forwarding, no default bridge. Containers run only on
networks the tests create and remove; published ports bind to 127.0.0.1 (docker-proxy forwards
them); the one build that installs packages uses the host's network, which reaches the package
registries and nothing else.

Nothing is pulled: the base images are stand-ins made here from Debian's packages
(docker/standin/), tagged with the names the Dockerfile and docker-compose.yml use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from tests.support.containers import BuiltImage, DockerEngine, compose_images, wait_for
from tests.support.paths import REPO
from tests.support.versions import PROMETHEUS_3

STANDIN = REPO / "docker" / "standin"
CACHE = Path(
    os.environ.get("BINANCE_PM_CACHE_DIR") or Path.home() / ".cache" / "binance-pm-exporter"
)
ROOTFS_TAG = "binance-pm-standin/rootfs:bookworm"
PYTHON_BASE = "python:3.11.14-slim-bookworm"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")

ALERTMANAGER_TEMPLATES = Path("/usr/share/prometheus/alertmanager")  # Debian's package

# What the session measured, shown at its end.
MEASURED: dict[str, str] = {}


def _processes_under(root: Path) -> list[int]:
    """Processes whose command line names the engine's directory (its containerd, shims)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command_line = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(root).encode() in command_line:
                found.append(int(entry.name))
    return found


def _unmount_under(root: Path) -> None:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    targets = [line.split()[1] for line in mounts if line.split()[1].startswith(str(root))]
    for target in reversed(targets):
        subprocess.run(["umount", "--lazy", target], check=False, timeout=30)


def iptables_on_path(root: Path) -> Path:
    """A directory for dockerd's PATH that provides `iptables` where the host has only its
    variants (iptables installed but its alternatives not set up). The engine runs iptables only
    inside the containers' network namespaces, for their DNS resolver (127.0.0.11): with
    --iptables=false it writes no rule on the host."""
    directory = root / "bin"
    directory.mkdir(exist_ok=True)
    for name in ("iptables", "iptables-save", "iptables-restore", "ip6tables"):
        variant = shutil.which(name.replace("tables", "tables-nft", 1))
        if shutil.which(name) is None and variant is not None:
            (directory / name).symlink_to(variant)
    return directory


def network_setup() -> tuple[str, frozenset[str]]:
    """What the engine must leave as it found: IP forwarding, and the host's bridges."""
    forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    bridges = (path.name for path in Path("/sys/class/net").iterdir())
    return forwarding, frozenset(name for name in bridges if name.startswith(("docker", "br-")))


@contextmanager
def docker_engine_running() -> Iterator[DockerEngine]:
    dockerd = shutil.which("dockerd")
    client = shutil.which("docker")
    assert dockerd is not None, "dockerd is not installed (Debian package: docker.io)"
    assert client is not None, "the docker client is not installed (Debian package: docker.io)"
    root = Path(tempfile.mkdtemp(prefix="bpe-docker-"))
    (root / "daemon.json").write_text("{}\n")
    engine = DockerEngine(root, client)
    found = network_setup()
    log = (root / "dockerd.log").open("w")
    process = subprocess.Popen(
        [
            dockerd,
            "--config-file",
            str(root / "daemon.json"),
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(root / "dockerd.pid"),
            "--host",
            engine.host,
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PATH": f"{iptables_on_path(root)}:{os.environ.get('PATH', '')}"},
    )
    try:

        def answers() -> bool:
            assert process.poll() is None, "dockerd exited:\n" + (root / "dockerd.log").read_text()
            return engine.run("version", check=False, timeout=30).returncode == 0

        wait_for(answers, 120, "dockerd to answer")
        yield engine
    finally:
        try:
            if process.poll() is None:
                left = engine.run("ps", "--all", "--quiet", check=False, timeout=60).stdout.split()
                if left:
                    engine.run("rm", "--force", "--volumes", *left, check=False, timeout=120)
                engine.run("network", "prune", "--force", check=False, timeout=60)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            for pid in _processes_under(root):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            log.close()
            _unmount_under(root)
            shutil.rmtree(root, ignore_errors=True)
    assert network_setup() == found, "the Docker engine changed the host's network set-up"


def rootfs_tarball() -> Path:
    """The stand-in base's root filesystem, made by docker/standin/rootfs.sh and kept in the
    cache directory under the digest of that recipe."""
    key = hashlib.sha256((STANDIN / "rootfs.sh").read_bytes()).hexdigest()[:16]
    tarball = CACHE / f"standin-rootfs-{key}.tar"
    if tarball.is_file():
        MEASURED["stand-in root filesystem"] = f"{tarball} (cached)"
        return tarball
    assert shutil.which("debootstrap"), "debootstrap is not installed (Debian package: debootstrap)"
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob("standin-rootfs-*.tar"):
        stale.unlink()
    started = time.monotonic()
    subprocess.run(
        ["bash", str(STANDIN / "rootfs.sh"), str(tarball)],
        check=True,
        timeout=1800,
        capture_output=True,
    )
    MEASURED["stand-in root filesystem"] = f"made in {time.monotonic() - started:.0f}s"
    return tarball


def host_ca_bundle() -> Path:
    """The CA certificates this host trusts: those pip uses here."""
    for name in ("PIP_CERT", "SSL_CERT_FILE"):
        if os.environ.get(name) and Path(os.environ[name]).is_file():
            return Path(os.environ[name])
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise AssertionError("no CA bundle found on this host")


def build_standin(
    engine: DockerEngine, dockerfile: str, tag: str, files: Mapping[str, Path]
) -> None:
    """Builds docker/standin/DOCKERFILE on the imported root filesystem, with these files as the
    build context, without a network."""
    with tempfile.TemporaryDirectory(prefix="bpe-standin-") as context:
        for name, source in files.items():
            shutil.copy(source, Path(context) / name)
        shutil.copy(STANDIN / dockerfile, Path(context) / "Dockerfile")
        engine.run(
            "build",
            "--network",
            "none",
            "--build-arg",
            f"ROOTFS={ROOTFS_TAG}",
            "--tag",
            tag,
            context,
            timeout=600,
        )


def binary(name: str, package: str) -> Path:
    found = shutil.which(name)
    assert found is not None, f"{name} is not installed (Debian package: {package})"
    return Path(found)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    with docker_engine_running() as engine:
        yield engine


@pytest.fixture(scope="session")
def standin_base(docker_engine: DockerEngine) -> str:
    """The stand-in for the Dockerfile's base image, under the base's name."""
    docker_engine.run("import", str(rootfs_tarball()), ROOTFS_TAG, timeout=600)
    build_standin(
        docker_engine, "python.Dockerfile", PYTHON_BASE, {"ca-certificates.crt": host_ca_bundle()}
    )
    return PYTHON_BASE


@pytest.fixture(scope="session")
def exporter_image(docker_engine: DockerEngine, standin_base: str) -> BuiltImage:
    """The project's Dockerfile built as it stands, tagged with docker-compose.yml's name."""
    tag = compose_images()["exporter"]
    proxies = [f"--build-arg={name}" for name in PROXY_VARIABLES if os.environ.get(name)]
    started = time.monotonic()
    build = docker_engine.run(
        "build", "--network", "host", *proxies, "--tag", tag, str(REPO), timeout=1200
    )
    MEASURED["image build"] = f"{time.monotonic() - started:.0f}s"
    size = int(docker_engine.inspect("image", tag)["Size"])
    MEASURED["image size"] = f"{size / 1e6:.0f} MB ({tag}, on the stand-in base)"
    return BuiltImage(tag, build.stdout + build.stderr)


@pytest.fixture(scope="session")
def monitoring_images(docker_engine: DockerEngine, standin_base: str) -> Mapping[str, str]:
    """Stand-ins for the Prometheus and Alertmanager images, under docker-compose.yml's names,
    made of the binaries of the versions those names pin (Prometheus 3.5, Alertmanager 0.28)."""
    images = compose_images()
    build_standin(
        docker_engine,
        "prometheus.Dockerfile",
        images["prometheus"],
        {
            "prometheus": Path(PROMETHEUS_3.prometheus_server),
            "promtool": Path(PROMETHEUS_3.promtool),
        },
    )
    build_standin(
        docker_engine,
        "alertmanager.Dockerfile",
        images["alertmanager"],
        {
            "alertmanager": Path(PROMETHEUS_3.alertmanager_server),
            **{name: ALERTMANAGER_TEMPLATES / name for name in ("default.tmpl", "email.tmpl")},
        },
    )
    return {name: images[name] for name in ("prometheus", "alertmanager")}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MEASURED:
        terminalreporter.write_sep("-", "container image")
        for what, value in MEASURED.items():
            terminalreporter.write_line(f"{what}: {value}")
