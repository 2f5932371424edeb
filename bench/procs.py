"""Child processes of the benchmark (the exporter, the baseline server, the load generator)
and what /proc says about them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.process import free_port

REPO = Path(__file__).resolve().parent.parent
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
START_TIMEOUT = 30.0
CHILD_ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
# glibc can give the top of a small heap back to the kernel whenever a large buffer there is
# freed (a 22 KB response) and fault it in again for the next one. Whether a process falls into
# that depends on its heap's layout, not on its code (the bare server did, with asyncio and the
# 22 KB body; the exporter did not). With these settings no server does: the heap keeps what
# it has, and buffers up to 1 MiB (asyncio's 256 KiB read buffer among them) come from it.
STEADY_HEAP_ENV = {
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=67108864"
}


@dataclass(frozen=True)
class Launch:
    """How a server process is started: from which source tree (this one, or e.g. a worktree
    of an earlier commit), with STEADY_HEAP_ENV or not, under another program (valgrind) or
    not, and how long it may take to answer."""

    tree: Path = REPO
    steady_heap: bool = False
    under: tuple[str, ...] = ()
    start_timeout: float = START_TIMEOUT

    @property
    def env(self) -> dict[str, str]:
        return {**CHILD_ENV, **STEADY_HEAP_ENV} if self.steady_heap else CHILD_ENV

    def command(self, command: Sequence[str]) -> list[str]:
        return [*self.under, *command]


def cpu_split() -> tuple[set[int], set[int]]:
    """One CPU for the servers under test, the others for the load generator: every server
    then runs in the same conditions, and never shares a CPU with its client."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return set(cpus), set(cpus)
    return {cpus[0]}, set(cpus[1:])


SERVER_CPUS, CLIENT_CPUS = cpu_split()
_pinning = [True]


def set_pinning(enabled: bool) -> None:
    _pinning[0] = enabled


def pinning() -> bool:
    return _pinning[0]


def pin(pid: int, cpus: set[int]) -> None:
    if _pinning[0]:
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(pid, cpus)


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES


@dataclass
class Server:
    """A server process under test and the URL of its /metrics."""

    name: str
    process: asyncio.subprocess.Process
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def wait_for_http(
    url: str, process: asyncio.subprocess.Process, timeout: float = START_TIMEOUT
) -> float:
    """Polls `url` until it answers 200; returns the time.perf_counter() of that answer."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"{url}: the server exited with {process.returncode}")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    await resp.read()
                    if resp.status == 200:
                        return time.perf_counter()
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(0.005)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


def exporter_command(loop: str, port: int, flags: Sequence[str], static: bool = False) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.run_exporter",
        "--loop",
        loop,
        *(["--static-metrics"] if static else []),
        "--",
        "--listen-address",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *flags,
    ]


@asynccontextmanager
async def running_exporter(
    loop: str, flags: Sequence[str], static: bool = False, launch: Launch = Launch()
) -> AsyncIterator[Server]:
    """The real exporter (`python -m exporter`) as a child process, serving /healthz; with
    `static`, its /metrics only returns the bytes of its first rendering (a baseline)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *launch.command(exporter_command(loop, port, flags, static)),
        cwd=launch.tree,
        env=launch.env,
    )
    pin(process.pid, SERVER_CPUS)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_for_http(base + "/healthz", process, launch.start_timeout)
        name = "static" if static else "exporter" if launch.tree == REPO else str(launch.tree)
        yield Server(f"{name}/{loop}", process, base + "/metrics")
    finally:
        await stop_process(process)


async def enter_together(
    stack: AsyncExitStack, contexts: Sequence[AbstractAsyncContextManager[Server]]
) -> list[Server]:
    """Enters the contexts concurrently, so that their processes start in parallel; every one
    that started is on the stack (and will be stopped) before any failure is raised."""
    entered = await asyncio.gather(
        *(stack.enter_async_context(context) for context in contexts), return_exceptions=True
    )
    servers = []
    for result in entered:
        if isinstance(result, BaseException):
            raise result
        servers.append(result)
    return servers


@dataclass(frozen=True)
class Exposition:
    identity: bytes
    gzipped: bytes
    content_type: str


@asynccontextmanager
async def running_baseline(
    loop: str, exposition: Exposition, launch: Launch = Launch()
) -> AsyncIterator[Server]:
    """The bare aiohttp server (bench/baseline.py) serving `exposition`."""
    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    process: asyncio.subprocess.Process | None = None
    try:
        (folder / "identity").write_bytes(exposition.identity)
        (folder / "gzip").write_bytes(exposition.gzipped)
        command = [sys.executable, "-m", "bench.baseline", "--loop", loop]
        command += ["--identity", str(folder / "identity"), "--gzip", str(folder / "gzip")]
        command += ["--content-type", exposition.content_type]
        process = await asyncio.create_subprocess_exec(
            *launch.command(command), cwd=REPO, env=launch.env, stdout=asyncio.subprocess.PIPE
        )
        pin(process.pid, SERVER_CPUS)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), launch.start_timeout)
        if not line.strip().isdigit():
            raise RuntimeError("the baseline server did not start")
        yield Server(f"baseline/{loop}", process, f"http://127.0.0.1:{int(line)}/metrics")
    finally:
        if process is not None:
            await stop_process(process)
        shutil.rmtree(folder, ignore_errors=True)


async def run_json(
    command: Sequence[str], timeout: float, cpus: set[int] = CLIENT_CPUS
) -> dict[str, object]:
    """Runs a command that prints a JSON object as its last line of output; returns it."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=REPO,
        env=CHILD_ENV,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    pin(process.pid, cpus)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        await stop_process(process)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {stderr.decode()[-500:]}")
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{command[0]} printed no result: {stdout.decode()[-500:]}")
    result: dict[str, object] = json.loads(lines[-1])
    return result
