"""The image built from the Dockerfile and run in a real Docker engine
(tests/support/docker_engine.py, on a stand-in for the Python base): what it installs, and the
container as users run it: demo mode, non-root, read-only root file system, the HEALTHCHECK with
the listen address and the web config given as flags or variables, TLS and basic auth, and a
prompt, clean `docker stop`."""

from __future__ import annotations

import re
import ssl
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from tests.support.containers import BuiltImage, DockerEngine, container, network, wait_for
from tests.support.locks import locked_versions
from tests.support.paths import REPO
from tests.support.pki import make_pki
from tests.support.process import free_port

pytestmark = pytest.mark.slow

pytest_plugins = ["tests.support.docker_engine"]

# The image's own check command, run every second instead of every 30 s.
HEALTH_SCHEDULE = ("--health-interval", "1s")
MAX_IMAGE_BYTES = 300_000_000


@pytest.fixture(scope="module")
def test_network(docker_engine: DockerEngine) -> Iterator[str]:
    with network(docker_engine) as name:
        yield name


def get(
    url: str, context: ssl.SSLContext | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)  # no HTTP answer (yet)


def health(engine: DockerEngine, container_id: str) -> str:
    status: str = engine.inspect("container", container_id)["State"]["Health"]["Status"]
    return status


def wait_healthy(engine: DockerEngine, container_id: str) -> None:
    wait_for(
        lambda: health(engine, container_id) != "starting", 180, f"{container_id}'s first check"
    )
    logs = engine.run("logs", container_id).stderr
    state = engine.inspect("container", container_id)["State"]
    assert state["Health"]["Status"] == "healthy", (state["Health"], logs)


def published(test_network: str, port: int, container_port: int = 10471) -> list[str]:
    return [
        "--network",
        test_network,
        "--publish",
        f"127.0.0.1:{port}:{container_port}",
        *HEALTH_SCHEDULE,
    ]


def in_image(engine: DockerEngine, image: BuiltImage, code: str) -> str:
    return engine.run(
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        "--entrypoint",
        "python",
        image.tag,
        "-c",
        code,
    ).stdout


def test_the_image_holds_exactly_the_locked_packages(
    docker_engine: DockerEngine, exporter_image: BuiltImage
) -> None:
    installed = in_image(
        docker_engine,
        exporter_image,
        "import importlib.metadata as m\n"
        "for d in m.distributions(): print(d.metadata['Name'], d.version)",
    )
    found = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in (line.split() for line in installed.splitlines())
    }
    assert found.pop("binance-pm-exporter") == "0.1.0"
    assert found == locked_versions(REPO / "docker" / "requirements.lock")
    # No build tool ships: the runtime environment was made without pip or setuptools.
    assert "pip" not in found
    assert "setuptools" not in found


def test_the_build_is_clean_and_the_image_small(
    docker_engine: DockerEngine, exporter_image: BuiltImage
) -> None:
    assert not re.search(r"(?i)useradd.*warning|warning.*useradd", exporter_image.build_output)
    assert "--require-hashes" in (REPO / "Dockerfile").read_text()
    size = int(docker_engine.inspect("image", exporter_image.tag)["Size"])
    assert size < MAX_IMAGE_BYTES, size


def test_demo_serves_as_a_non_root_user_on_a_read_only_root(
    docker_engine: DockerEngine, exporter_image: BuiltImage, test_network: str
) -> None:
    port = free_port()
    with container(
        docker_engine,
        *published(test_network, port),
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        exporter_image.tag,
        "--demo",
    ) as container_id:
        wait_healthy(docker_engine, container_id)
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        status, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert re.search(r"^binance_pm_up 1\.0$", metrics, re.MULTILINE)
        assert re.search(r'^binance_pm_collateral_rate\{asset="[A-Z]+"\} ', metrics, re.MULTILINE)
        # The exporter itself (PID 1), not only the image's USER, runs as 10001.
        status_file = docker_engine.run("exec", container_id, "cat", "/proc/1/status").stdout
        (uids,) = [line.split()[1:] for line in status_file.splitlines() if line.startswith("Uid:")]
        assert uids == ["10001"] * 4
        assert docker_engine.inspect("container", container_id)["HostConfig"]["ReadonlyRootfs"]
        write = docker_engine.run("exec", container_id, "touch", "/opt/x", check=False)
        assert write.returncode != 0


def test_health_check_follows_the_listen_address_as_a_flag_or_a_variable(
    docker_engine: DockerEngine, exporter_image: BuiltImage, test_network: str
) -> None:
    flag, variable, both = free_port(), free_port(), free_port()
    with (
        container(
            docker_engine,
            *published(test_network, flag, 8080),
            exporter_image.tag,
            "--demo",
            "--listen-address",
            ":8080",
        ) as by_flag,
        container(
            docker_engine,
            *published(test_network, variable, 9100),
            "--env",
            "BINANCE_PM_DEMO=1",
            "--env",
            "BINANCE_PM_LISTEN_ADDRESS=:9100",
            exporter_image.tag,
        ) as by_variable,
        container(
            docker_engine,
            *published(test_network, both, 8080),
            "--env",
            "BINANCE_PM_LISTEN_ADDRESS=:9100",
            exporter_image.tag,
            "--demo",
            "--listen-address=:8080",
        ) as flag_wins,
    ):
        for container_id, port in ((by_flag, flag), (by_variable, variable), (flag_wins, both)):
            wait_healthy(docker_engine, container_id)
            assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        # The same check fails where nothing listens.
        dead = docker_engine.run(
            "exec", by_flag, "python", "-m", "exporter.web.healthcheck", "127.0.0.1:1", check=False
        )
        assert (dead.returncode, dead.stdout.strip()) == (1, "unhealthy: no answer on 127.0.0.1:1")


def test_health_check_with_tls_and_basic_auth_from_a_web_config(
    docker_engine: DockerEngine, exporter_image: BuiltImage, test_network: str, tmp_path: Path
) -> None:
    directory = tmp_path / "web"
    pki = make_pki(directory)
    password = "correct horse"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    (directory / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: {pki.cert_file.name}\n  key_file: {pki.key_file.name}\n"
        f"basic_auth_users:\n  alice: {hashed}\n",
        encoding="utf-8",
    )
    directory.chmod(0o755)
    for file in directory.iterdir():
        file.chmod(0o644)  # readable by the container's user
    mount = ["--volume", f"{directory}:/etc/binance-pm-exporter:ro"]
    web_config = "/etc/binance-pm-exporter/web.yml"
    flag, variable = free_port(), free_port()
    with (
        container(
            docker_engine,
            *published(test_network, flag),
            *mount,
            exporter_image.tag,
            "--demo",
            "--web-config-file",
            web_config,
        ) as by_flag,
        container(
            docker_engine,
            *published(test_network, variable),
            *mount,
            "--env",
            f"BINANCE_PM_WEB_CONFIG_FILE={web_config}",
            exporter_image.tag,
            "--demo",
        ) as by_variable,
    ):
        credentials = {"Authorization": "Basic " + b64encode(f"alice:{password}".encode()).decode()}
        for container_id, port in ((by_flag, flag), (by_variable, variable)):
            wait_healthy(docker_engine, container_id)
            url = f"https://127.0.0.1:{port}/healthz"
            assert get(url, pki.client_context())[0] == 401
            assert get(url, pki.client_context(), credentials)[0] == 200


def test_docker_stop_ends_the_exporter_cleanly_within_two_seconds(
    docker_engine: DockerEngine, exporter_image: BuiltImage, test_network: str
) -> None:
    port = free_port()
    with container(
        docker_engine, *published(test_network, port), exporter_image.tag, "--demo"
    ) as container_id:
        wait_for(
            lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            120,
            "the exporter to serve",
        )
        # After 2 s Docker would kill it (exit code 137): 0 means it ended by itself on SIGTERM.
        docker_engine.run("stop", "--time", "2", container_id, timeout=60)
        state = docker_engine.inspect("container", container_id)["State"]
        assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 0, False)
        assert "Traceback" not in docker_engine.run("logs", container_id).stderr
