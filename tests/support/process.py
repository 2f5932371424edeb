"""The exporter as a real process, as an operator runs it: `exporter_process` starts
`python -m exporter` on a port the system picks (`--listen-address 127.0.0.1:0`), driven from
a test's event loop, everything it writes kept for assertions; `run_exporter` runs it to
completion (for configurations that must fail). The one way tests start an exporter process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO

from tests.support.paths import REPO

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)( with TLS)?")
START_SECONDS = 20.0
STOP_SECONDS = 10.0


@dataclass
class ExporterProcess:
    process: asyncio.subprocess.Process
    port: int
    tls: bool
    stderr_lines: list[str] = field(default_factory=list)
    stdout_chunks: list[bytes] = field(default_factory=list)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    @property
    def stdout(self) -> str:
        return b"".join(self.stdout_chunks).decode("utf-8", "replace")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Sends a signal and waits for the exit and the last of its output; returns the exit
        code."""
        self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
        await asyncio.wait_for(asyncio.gather(*self.pumps), STOP_SECONDS)
        return code

    async def wait_for_log(self, needle: str, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while needle not in self.stderr:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not logged within {seconds}s:\n{self.stderr}")
            await asyncio.sleep(0.05)


def free_port() -> int:
    """A loopback port free right now (for a process that must be told its port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_exporter(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    """Runs the exporter to completion (for configurations that must fail)."""
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        check=False,
    )


async def exporter_run(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs the exporter to completion without blocking the event loop (for a fake Binance
    served by the same loop, as `--check` needs)."""
    process = await spawn_exporter(
        args, env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "exporter", *args],
        process.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def exporter_help() -> str:
    """What `python -m exporter --help` prints."""
    return subprocess.run(
        [sys.executable, "-m", "exporter", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


async def spawn_exporter(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    stdout: int | IO[bytes],
    stderr: int | IO[bytes],
    preexec_fn: Callable[[], None] | None = None,
) -> asyncio.subprocess.Process:
    """`python -m exporter ARGS` from the repository, with nothing of this environment but
    PATH and `env`. `exporter_process` is the usual way in; this is for harnesses that manage
    the process themselves (the monitoring stack restarts exporters on a fixed port)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exporter",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        preexec_fn=preexec_fn,
    )


async def _pump_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode("utf-8", "replace"))


async def _pump_bytes(stream: asyncio.StreamReader, into: list[bytes]) -> None:
    while chunk := await stream.read(65536):
        into.append(chunk)


@asynccontextmanager
async def exporter_process(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> AsyncIterator[ExporterProcess]:
    """`preexec_fn` runs in the child before the exporter starts (e.g. to lower a limit)."""
    process = await spawn_exporter(
        ["--listen-address", "127.0.0.1:0", *args],
        env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=preexec_fn,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stderr_lines: list[str] = []
    stdout_chunks: list[bytes] = []
    pumps = [
        asyncio.create_task(_pump_lines(process.stderr, stderr_lines)),
        asyncio.create_task(_pump_bytes(process.stdout, stdout_chunks)),
    ]
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (found := LISTENING.search("".join(stderr_lines))):
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"exporter did not start:\n{''.join(stderr_lines)}")
            await asyncio.sleep(0.02)
        yield ExporterProcess(
            process, int(found.group(1)), bool(found.group(2)), stderr_lines, stdout_chunks, pumps
        )
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*pumps), STOP_SECONDS)
