"""The landing page as a person sees it: headless Chromium (Debian's package) opens the real app
served against the fake Binance, once with JavaScript (the filter and sort asked for in the
address apply) and once without (the same plain table, every row shown), and takes a
screenshot, kept at build/landing.png and named in the test's output."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.exporter import StartExporter
from tests.support.fake_binance import FakeBinance

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO / "build" / "landing.png"
RATES = {"BTC": "0.9500", "BTTC": "0.4000", "ETH": "0.9000", "WBTC": "0.7000"}


def headless_chromium(profile: Path) -> list[str]:
    """Debian's Chromium, headless, with a profile of the test's own and nothing run beside."""
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed (Debian package: chromium)"
    return [
        binary,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
    ]


async def chromium(profile: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *headless_chromium(profile),
        "--virtual-time-budget=3000",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout.decode()


async def dom_without_javascript(profile: Path, url: str) -> str:
    """The page's DOM as Chromium builds it with script execution turned off (DevTools'
    Emulation.setScriptExecutionDisabled, as the command line has no such switch that keeps
    --dump-dom working)."""
    process = await asyncio.create_subprocess_exec(
        *headless_chromium(profile),
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.1)
        port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            (target,) = [t for t in targets if t["type"] == "page"]
            async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                calls = 0

                async def call(method: str, **params: object) -> dict[str, Any]:
                    nonlocal calls
                    calls += 1
                    await ws.send_json({"id": calls, "method": method, "params": params})
                    while True:
                        message = await asyncio.wait_for(ws.receive_json(), 30)
                        if message.get("id") == calls:
                            result: dict[str, Any] = message["result"]
                            return result
                        if message.get("method") == "Page.loadEventFired":
                            loaded.set()

                loaded = asyncio.Event()
                await call("Emulation.setScriptExecutionDisabled", value=True)
                await call("Page.enable")
                await call("Page.navigate", url=url)
                while not loaded.is_set():
                    message = await asyncio.wait_for(ws.receive_json(), 30)
                    if message.get("method") == "Page.loadEventFired":
                        loaded.set()
                document = await call("DOM.getDocument", depth=-1)
                outer = await call("DOM.getOuterHTML", nodeId=document["root"]["nodeId"])
                dom: str = outer["outerHTML"]
                return dom
    finally:
        process.terminate()
        await process.wait()


def shown_rows(dom: str) -> list[tuple[str, bool]]:
    """(asset, visible) for each row of the rates table, in the order the page has them."""
    body = re.search(r'<tbody id="rates-body">(.*?)</tbody>', dom, re.DOTALL)
    assert body, dom[-2000:]
    found = []
    for attributes, row in re.findall(r"<tr([^>]*)>(.*?)</tr>", body.group(1), re.DOTALL):
        asset = html.unescape(re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row)[0]))
        found.append((asset, "hidden" not in attributes))
    return found


async def test_a_person_sees_the_rates_filtered_sorted_and_without_javascript_too(
    fake: FakeBinance, start_exporter: StartExporter, tmp_path: Path
) -> None:
    fake.rates = dict(RATES)
    running = await start_exporter()
    await running.scrape()
    page = str(running.client.make_url("/"))

    with_script = await chromium(tmp_path / "a", "--dump-dom", f"{page}#filter=bt&sort=rate-desc")
    assert shown_rows(with_script) == [
        ("BTC", True),
        ("ETH", False),
        ("WBTC", True),
        ("BTTC", True),
    ]
    assert re.search(r'<span id="rates-shown">3 of 4</span>', with_script)
    assert re.search(r'<input id="rates-filter"(?![^>]*hidden)[^>]*>', with_script)

    without_script = await dom_without_javascript(tmp_path / "b", f"{page}#filter=bt")
    assert shown_rows(without_script) == [(asset, True) for asset in sorted(RATES)]
    assert re.search(r'<input id="rates-filter"[^>]*hidden', without_script)
    assert "Changes since start" in without_script
    assert "Settings in force" in without_script

    SCREENSHOT.parent.mkdir(exist_ok=True)
    await chromium(
        tmp_path / "c", f"--screenshot={SCREENSHOT}", "--window-size=1280,1100", f"{page}#sort=rate"
    )
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 10_000
    print(f"\nlanding page screenshot: {SCREENSHOT}")
