"""Reading the hash-locked requirement files (uv's format) made by `bash docker/lock.sh`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


@dataclass
class Pin:
    requirement: Requirement
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> str:
        (specifier,) = self.requirement.specifier
        assert specifier.operator == "==", self.requirement
        return specifier.version


def pins(path: Path) -> dict[str, Pin]:
    """The pins of a lock in uv's format: `name==version ; marker \\`, its `--hash=` lines, and
    the `# via` annotation (one name, or one per following line)."""
    found: dict[str, Pin] = {}
    current: Pin | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip().removesuffix("\\").strip()
        if line and not line[0].isspace() and not line.startswith("#"):
            current = Pin(Requirement(stripped))
            assert current.name not in found, f"{path.name}: {current.name} pinned twice"
            found[current.name] = current
        elif current is not None and stripped.startswith("--hash="):
            current.hashes.append(stripped.removeprefix("--hash="))
        elif current is not None and stripped.startswith("# via "):
            current.via.add(stripped.removeprefix("# via "))
        elif current is not None and stripped.startswith("#   "):
            current.via.add(stripped.removeprefix("#   "))
    return found


def locked_versions(path: Path) -> dict[str, str]:
    """Name -> version of the pins whose markers hold here (the image runs Python 3.11 on
    Linux, as the tests do)."""
    return {
        name: pin.version
        for name, pin in pins(path).items()
        if pin.requirement.marker is None or pin.requirement.marker.evaluate()
    }
