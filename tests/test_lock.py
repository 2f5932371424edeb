"""The hash-locked requirement files (made by `bash docker/lock.sh`) agree with their sources:
the image's runtime lock with pyproject.toml's dependencies, its build lock with
build-system.requires, the test tools' lock with docker/test-tools.in; every pin is exact and
hash-checked, and nothing is locked that nothing needs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.locks import Pin, pins
from tests.support.paths import REPO

DOCKER = REPO / "docker"
RUNTIME_LOCK = DOCKER / "requirements.lock"
BUILD_LOCK = DOCKER / "build-requirements.lock"
TOOLS_LOCK = DOCKER / "test-tools.lock"
PYPROJECT_SOURCE = "binance-pm-exporter (pyproject.toml)"


def pyproject() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def runtime_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    listed = [*project["dependencies"], *project["optional-dependencies"]["fast"]]
    return [Requirement(text) for text in listed]


def assert_satisfied(requirements: list[Requirement], locked: dict[str, Pin]) -> None:
    for requirement in requirements:
        pin = locked.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not locked: run bash docker/lock.sh"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{pin.requirement} does not satisfy {requirement}: run bash docker/lock.sh"
        )
        assert pin.requirement.marker == requirement.marker, (pin.requirement, requirement)


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, BUILD_LOCK, TOOLS_LOCK], ids=lambda p: p.name)
def test_every_pin_is_exact_and_hashed(lock: Path) -> None:
    locked = pins(lock)
    assert locked
    for pin in locked.values():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", pin.version), pin.requirement
        assert pin.hashes, f"{pin.name} has no hash"
        for digest in pin.hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), (pin.name, digest)
        assert pin.via, f"{pin.name}: nothing says why it is locked"


def test_runtime_lock_pins_what_pyproject_requires_and_only_that() -> None:
    locked = pins(RUNTIME_LOCK)
    required = runtime_requirements()
    assert_satisfied(required, locked)
    direct = {name for name, pin in locked.items() if PYPROJECT_SOURCE in pin.via}
    assert direct == {canonicalize_name(r.name) for r in required}
    # Everything else is there because a locked package needs it.
    for pin in locked.values():
        for parent in pin.via - {PYPROJECT_SOURCE}:
            assert canonicalize_name(parent) in locked, (pin.name, parent)


def test_build_lock_pins_the_build_system_and_pip() -> None:
    locked = pins(BUILD_LOCK)
    build_system = pyproject()["build-system"]
    assert isinstance(build_system, dict)
    requires = [Requirement(text) for text in build_system["requires"]]
    assert_satisfied(requires, locked)
    assert set(locked) == {canonicalize_name(r.name) for r in requires} | {"pip"}


def test_tools_lock_pins_the_listed_tools() -> None:
    lines = (DOCKER / "test-tools.in").read_text(encoding="utf-8").splitlines()
    tools = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    locked = pins(TOOLS_LOCK)
    assert_satisfied(tools, locked)
    for pin in locked.values():
        for parent in pin.via - {"-r docker/test-tools.in"}:
            assert canonicalize_name(parent) in locked, (pin.name, parent)
