"""Helpers for tests that run containers in the tests' own Docker engine
(tests/support/docker_engine.py starts it): the engine's client, networks and containers that
clean up after themselves, the image names of docker-compose.yml."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:g}s waiting for {what}")
        time.sleep(0.5)


@dataclass(frozen=True)
class DockerEngine:
    root: Path
    client: str

    @property
    def host(self) -> str:
        return f"unix://{self.root / 'docker.sock'}"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a client of this engine (the host's client configuration unused;
        the legacy builder, whose output is the same from every client version)."""
        return {
            **os.environ,
            "DOCKER_HOST": self.host,
            "DOCKER_CONFIG": str(self.root / "client"),
            "DOCKER_BUILDKIT": "0",
        }

    def run(
        self, *args: str, timeout: float = 120, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.client, *args],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
            )
        return result

    def inspect(self, kind: str, name: str) -> Any:
        return json.loads(self.run(kind, "inspect", name).stdout)[0]


@contextmanager
def network(engine: DockerEngine) -> Iterator[str]:
    """A bridge network of the test's own, removed afterwards."""
    name = f"bpe-test-{uuid.uuid4().hex[:10]}"
    engine.run("network", "create", "--driver", "bridge", name)
    try:
        yield name
    finally:
        engine.run("network", "rm", name, check=False)


@contextmanager
def container(engine: DockerEngine, *run_args: str) -> Iterator[str]:
    """`docker run --detach` with these arguments; the container is removed afterwards."""
    container_id = engine.run("run", "--detach", "--pull", "never", *run_args).stdout.strip()
    try:
        yield container_id
    finally:
        engine.run("rm", "--force", "--volumes", container_id, check=False)


def compose_images() -> Mapping[str, str]:
    """Service name -> the image name docker-compose.yml gives it."""
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    return {name: service["image"] for name, service in services.items() if "image" in service}


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    build_output: str
