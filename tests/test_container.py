"""The Dockerfile and its build context, checked without a container engine: hadolint, the facts
the image must hold (pinned slim base, non-root user, health check, port, entry point, no
secrets), what .dockerignore lets into the build, and the health check command itself."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import bcrypt

from exporter.config import DEFAULT_PORT
from exporter.web.healthcheck import main as healthcheck
from tests.fake_binance import FakeBinance
from tests.serving import served

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install aiohttp\n", encoding="utf-8")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout
    assert "DL3013" in result.stdout


def test_multi_stage_on_a_pinned_slim_base() -> None:
    bases = [args for keyword, args in instructions() if keyword == "FROM"]
    assert len(bases) == 2
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm( AS \w+)?", base), base
    # Only the built virtual environment crosses into the final image.
    copies = [args for keyword, args in final_stage() if keyword == "COPY"]
    assert copies == ["--from=build /opt/exporter /opt/exporter"]


def test_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("0", "root")


def test_port_entry_point_and_health_check() -> None:
    steps = dict(final_stage())
    assert steps["EXPOSE"] == str(DEFAULT_PORT)
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert steps["ENTRYPOINT"] == '["binance-pm-exporter"]'
    assert "binance-pm-exporter" in scripts
    assert steps["HEALTHCHECK"].endswith('CMD ["python", "-m", "exporter.web.healthcheck"]')


def test_no_secret_is_baked_in() -> None:
    for keyword, args in instructions():
        if keyword in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"KEY|SECRET|PASSWORD|TOKEN", args, re.IGNORECASE), args


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip("/"))
    translated = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(translated.get(part, re.escape(part)) for part in parts))


def sent_to_builder(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parents = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    included = True
    for pattern in dockerignore_patterns():
        exception = pattern.startswith("!")
        regex = pattern_regex(pattern.lstrip("!"))
        if any(regex.fullmatch(parent) for parent in parents):
            included = exception
    return included


def test_build_context_holds_what_the_build_copies_and_nothing_secret() -> None:
    sources = []
    for keyword, args in instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        files = [REPO / source] if (REPO / source).is_file() else (REPO / source).rglob("*.py")
        for file in files:
            assert sent_to_builder(str(file.relative_to(REPO))), file
    for kept_out in (
        "secrets/binance_api_key",
        ".env",
        "api.key",
        "web-config/server.key",
        ".git/config",
        "tests/conftest.py",
        "bench/soak.py",
        ".venv/bin/python",
        "exporter/__pycache__/cli.cpython-311.pyc",
    ):
        assert not sent_to_builder(kept_out), kept_out


async def test_health_check_command(fake: FakeBinance, tmp_path: Path) -> None:
    async with served(fake.url) as server:
        port = server.listener.port
        assert await asyncio.to_thread(healthcheck, [f"127.0.0.1:{port}"]) == 0
        assert await asyncio.to_thread(healthcheck, [f":{port}"]) == 0
    # The same port, now closed.
    assert await asyncio.to_thread(healthcheck, [f"127.0.0.1:{port}"]) == 1
    assert await asyncio.to_thread(healthcheck, ["not an address"]) == 2

    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  alice: {hashed}\n", encoding="utf-8")
    async with served(fake.url, web_config=web_config) as server:
        address = f"127.0.0.1:{server.listener.port}"
        assert await asyncio.to_thread(healthcheck, [address]) == 0  # a 401 is a live server
