"""The Dockerfile and its build context, checked without a container engine: hadolint (the
stand-ins' Dockerfiles too), the facts the image must hold (pinned slim base, hash-checked
installs, non-root user, health check, port, entry point, no secrets), what .dockerignore lets
into the build, and the health check command itself, which finds the exporter's address and web
config from its command line (tests/test_image.py runs all this in a real container)."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import bcrypt

from exporter.config import DEFAULT_PORT
from exporter.web.healthcheck import exporter_arguments
from exporter.web.healthcheck import main as healthcheck
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance
from tests.support.paths import REPO
from tests.support.pki import make_pki
from tests.support.process import free_port

DOCKERFILE = REPO / "Dockerfile"
STANDIN_DOCKERFILES = sorted((REPO / "docker" / "standin").glob("*.Dockerfile"))
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
    assert len(STANDIN_DOCKERFILES) == 3
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE), *map(str, STANDIN_DOCKERFILES)],
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


def test_every_install_is_hash_checked_or_offline() -> None:
    """pip reaches an index only for files whose hashes the locks give, and takes wheels only
    (no source build with unpinned build tools)."""
    installs = 0
    for keyword, args in instructions():
        if keyword != "RUN":
            continue
        for command in args.split("&&"):
            words = shlex.split(command)
            if "pip" in " ".join(words[:1]) and "install" in words:
                installs += 1
                if "--no-index" not in words:
                    assert "--require-hashes" in words, command
                    assert words[words.index("--only-binary") + 1] == ":all:", command
                    (lock,) = [words[i + 1] for i, w in enumerate(words) if w == "-r"]
                    assert lock.endswith(".lock"), command
    assert installs == 3


def test_the_user_is_created_without_a_warning() -> None:
    (run,) = [args for keyword, args in final_stage() if keyword == "RUN"]
    # --system with a uid above SYS_UID_MAX (999) makes useradd warn at every build.
    assert "useradd" in run
    assert "--system" not in run
    assert "--uid 10001" in run


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


def command_line(path: Path, *argv: str) -> Path:
    """A stand-in for /proc/1/cmdline: NUL-terminated arguments."""
    path.write_bytes(b"".join(arg.encode() + b"\0" for arg in argv))
    return path


CONSOLE_SCRIPT = ("/opt/exporter/bin/python", "/opt/exporter/bin/binance-pm-exporter")


def test_the_exporters_arguments_are_found_in_its_command_line() -> None:
    def parsed(*argv: str) -> list[str] | None:
        return exporter_arguments(b"".join(a.encode() + b"\0" for a in argv))

    assert parsed(*CONSOLE_SCRIPT, "--listen-address", ":8080") == ["--listen-address", ":8080"]
    assert parsed("binance-pm-exporter", "--demo") == ["--demo"]
    assert parsed("/usr/bin/python3", "-m", "exporter", "--demo") == ["--demo"]
    # Behind `docker run --init`, PID 1 is docker-init.
    assert parsed("/sbin/docker-init", "--", "binance-pm-exporter", "--demo") == ["--demo"]
    assert parsed(*CONSOLE_SCRIPT) == []
    assert parsed("/sbin/init") is None
    assert exporter_arguments(b"") is None


async def test_health_check_command(fake: FakeBinance, tmp_path: Path) -> None:
    nothing = command_line(tmp_path / "init", "/sbin/init")
    async with served(fake.url) as server:
        port = server.listener.port
        for address in (f"127.0.0.1:{port}", f":{port}"):
            assert await asyncio.to_thread(healthcheck, [address], {}, nothing) == 0
    # The same port, now closed.
    assert await asyncio.to_thread(healthcheck, [f"127.0.0.1:{port}"], {}, nothing) == 1
    assert await asyncio.to_thread(healthcheck, ["not an address"], {}, nothing) == 2


async def test_health_check_follows_the_exporters_flags_over_the_environment(
    fake: FakeBinance, tmp_path: Path
) -> None:
    async with served(fake.url) as server:
        live = f"127.0.0.1:{server.listener.port}"
        dead = f"127.0.0.1:{free_port()}"
        flags = command_line(tmp_path / "flags", *CONSOLE_SCRIPT, "--listen-address", live)
        equals = command_line(tmp_path / "equals", *CONSOLE_SCRIPT, f"--listen-address={live}")
        no_flag = command_line(tmp_path / "none", *CONSOLE_SCRIPT, "--demo")
        variable = {"BINANCE_PM_LISTEN_ADDRESS": live}
        wrong_variable = {"BINANCE_PM_LISTEN_ADDRESS": dead}
        assert await asyncio.to_thread(healthcheck, [], wrong_variable, flags) == 0
        assert await asyncio.to_thread(healthcheck, [], {}, equals) == 0
        assert await asyncio.to_thread(healthcheck, [], variable, no_flag) == 0
        assert await asyncio.to_thread(healthcheck, [], wrong_variable, no_flag) == 1
        missing = tmp_path / "no-such-cmdline"
        assert await asyncio.to_thread(healthcheck, [], variable, missing) == 0


async def test_health_check_follows_the_web_config_flag_to_tls(
    fake: FakeBinance, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(
        f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"
        f"basic_auth_users:\n  alice: {hashed}\n",
        encoding="utf-8",
    )
    async with served(fake.url, web_config=web_config) as server:
        live = f"127.0.0.1:{server.listener.port}"
        argv = (*CONSOLE_SCRIPT, "--listen-address", live)
        by_flag = command_line(tmp_path / "flag", *argv, "--web-config-file", str(web_config))
        assert await asyncio.to_thread(healthcheck, [], {}, by_flag) == 0
        by_variable = command_line(tmp_path / "variable", *argv)
        env = {"BINANCE_PM_WEB_CONFIG_FILE": str(web_config)}
        assert await asyncio.to_thread(healthcheck, [], env, by_variable) == 0
        # The check judges TLS by what the server speaks, not by the settings it is told.
        assert await asyncio.to_thread(healthcheck, [], {}, by_variable) == 0
        # Not knowing the exporter's command line, it tries HTTP, then TLS.
        unknown = command_line(tmp_path / "init", "/sbin/init")
        assert await asyncio.to_thread(healthcheck, [live], {}, unknown) == 0

    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  alice: {hashed}\n", encoding="utf-8")
    nothing = command_line(tmp_path / "init", "/sbin/init")
    async with served(fake.url, web_config=web_config) as server:
        address = f"127.0.0.1:{server.listener.port}"
        # A 401 is a live server.
        assert await asyncio.to_thread(healthcheck, [address], {}, nothing) == 0
