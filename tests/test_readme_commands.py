"""The README's container commands, run as written in the tests' own Docker engine: the key file
made as the README makes it and the `docker run -d` that mounts it give a running, healthy
exporter that read the key; the image tag they name is the one the Kubernetes base runs.

Three things are changed, and only these: the key's text, the host port (10471 may be taken
here) and a network of the test's own (the tests' engine has no default bridge)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.containers import BuiltImage, DockerEngine, network, wait_for
from tests.support.process import free_port

pytest_plugins = ["tests.support.docker_engine"]
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DEPLOYMENT = REPO / "deploy" / "kubernetes" / "base" / "deployment.yaml"
KEY = "readme-test-key-0123456789abcdef"


def shell_commands(markdown: str) -> list[str]:
    """Every command of the page's sh blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.DOTALL):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            if command.strip():
                commands.append(command.strip())
    return commands


def readme_command(starting: str) -> str:
    (found,) = [c for c in shell_commands(README.read_text(encoding="utf-8")) if starting in c]
    return found


def built_tag() -> str:
    build = readme_command("docker build")
    match = re.search(r"-t (\S+) \.", build)
    assert match, build
    return match.group(1)


def run_as_written(
    engine: DockerEngine, directory: Path, commands: list[str], net: str, port: int
) -> subprocess.CompletedProcess[str]:
    script = "\n".join(
        c.replace("your-api-key", KEY)
        .replace("127.0.0.1:10471:", f"127.0.0.1:{port}:")
        .replace("docker run ", f"docker run --network {net} ")
        for c in commands
    )
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=directory,
        env={**engine.env, "PATH": f"{Path(engine.client).parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def started(engine: DockerEngine, result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    container_id = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", container_id), result.stdout
    return container_id


def state(engine: DockerEngine, container_id: str) -> dict[str, Any]:
    found: dict[str, Any] = engine.inspect("container", container_id)["State"]
    return found


def health(engine: DockerEngine, container_id: str) -> str | None:
    status: str | None = state(engine, container_id).get("Health", {}).get("Status")
    return status


@pytest.fixture
def readme_image(docker_engine: DockerEngine, exporter_image: BuiltImage) -> str:
    tag = built_tag()
    docker_engine.run("tag", exporter_image.tag, tag)
    return tag


def test_the_kubernetes_base_runs_the_tag_the_readme_builds() -> None:
    deployment = yaml.safe_load(DEPLOYMENT.read_text(encoding="utf-8"))
    (exporter,) = deployment["spec"]["template"]["spec"]["containers"]
    assert exporter["image"] == built_tag()


def test_the_readme_key_file_and_docker_run_give_a_healthy_exporter(
    docker_engine: DockerEngine, readme_image: str, tmp_path: Path
) -> None:
    commands = [readme_command("umask"), readme_command("docker run -d")]
    assert readme_image in commands[1]
    port = free_port()
    with network(docker_engine) as net:
        container_id = started(
            docker_engine, run_as_written(docker_engine, tmp_path, commands, net, port)
        )
        try:
            wait_for(
                lambda: health(docker_engine, container_id) != "starting",
                120,
                "the first health check",
            )
            logs = docker_engine.run("logs", container_id).stderr
            assert state(docker_engine, container_id)["Running"], logs
            assert "Permission denied" not in logs
            assert health(docker_engine, container_id) == "healthy", logs
        finally:
            docker_engine.run("rm", "--force", container_id, check=False)


def test_a_key_file_only_its_owner_reads_stops_the_container_with_one_line(
    docker_engine: DockerEngine, readme_image: str, tmp_path: Path
) -> None:
    """What the README's commands did before: the check above can tell the difference."""
    commands = [
        readme_command("umask").replace("umask 027", "umask 077"),
        readme_command("docker run -d").replace('--group-add "$(id -g)" ', ""),
    ]
    port = free_port()
    with network(docker_engine) as net:
        container_id = started(
            docker_engine, run_as_written(docker_engine, tmp_path, commands, net, port)
        )
        try:
            wait_for(lambda: not state(docker_engine, container_id)["Running"], 60, "the exit")
            assert state(docker_engine, container_id)["ExitCode"] == 2
            logs = docker_engine.run("logs", container_id).stderr
            assert "Permission denied" in logs
            assert KEY not in logs
        finally:
            docker_engine.run("rm", "--force", container_id, check=False)
