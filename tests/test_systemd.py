"""deploy/systemd/binance-pm-exporter.service: systemd itself (`systemd-analyze verify`) finds
nothing to say about it, it carries the usual hardening, and the command line and environment it
gives the exporter make a working configuration with the key from the service's credential."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from exporter.config import load_config

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "systemd" / "binance-pm-exporter.service"
HARDENING = {
    "DynamicUser": "yes",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
}


def service_section(text: str) -> dict[str, list[str]]:
    """Each key of [Service] with every value it is given, in order (systemd allows repeats)."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    systemd_analyze = shutil.which("systemd-analyze")
    assert systemd_analyze, "systemd-analyze is missing (Debian's systemd package)"
    return subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def runnable_copy(tmp_path: Path, text: str) -> Path:
    """The unit with ExecStart's program pointed at this environment's exporter: verify checks that
    the program exists, and /opt/binance-pm-exporter is where users install it, not the tests."""
    program = shlex.split(service_section(text)["ExecStart"][0])[0]
    here = Path(sys.executable).parent / "binance-pm-exporter"
    assert here.exists(), here
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(program, str(here)), encoding="utf-8")
    return copy


def test_systemd_finds_nothing_to_say(tmp_path: Path) -> None:
    result = verify(runnable_copy(tmp_path, UNIT.read_text(encoding="utf-8")))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_check_would_catch_a_misspelt_setting(tmp_path: Path) -> None:
    broken = UNIT.read_text(encoding="utf-8").replace("DynamicUser=", "DynamicUsr=")
    result = verify(runnable_copy(tmp_path, broken))
    assert "Unknown key 'DynamicUsr'" in result.stderr


def test_the_unit_carries_the_usual_hardening() -> None:
    service = service_section(UNIT.read_text(encoding="utf-8"))
    for key, value in HARDENING.items():
        assert service.get(key) == [value], key
    assert any(v.startswith("binance_api_key:") for v in service["LoadCredential"])


def test_the_unit_gives_the_exporter_its_key_through_the_credential(tmp_path: Path) -> None:
    service = service_section(UNIT.read_text(encoding="utf-8"))
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for entry in service["LoadCredential"]:
        name, _, _source = entry.partition(":")
        (credentials / name).write_text(f"key-from-{name}\n", encoding="utf-8")
    environ = {}
    for assignment in service["Environment"]:
        name, _, value = assignment.partition("=")
        environ[name] = value.replace("%d", str(credentials))
    argv = shlex.split(service["ExecStart"][0])[1:]

    config = load_config(argv, environ)

    assert config.api_key == "key-from-binance_api_key"
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 10471)
