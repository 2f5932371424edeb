"""The cost of redacting an upstream answer (exporter/upstream/redact.py), which the client does to
every body as it is read: a real-sized v1 answer, a real-sized v2 answer (with its request's
signature, as the client redacts it), the largest body accepted by default (4 MiB of rates), and
4 MiB made of nothing but the characters the escaped forms are built of (the worst case: one
long candidate run). Median of the repeats, in ms.

    python -m bench.redaction --repeats 20 [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
from collections.abc import Sequence

from bench.results import add_json_option, write_json
from exporter.config import DEFAULT_MAX_RESPONSE_BYTES
from exporter.fakebinance.demo import demo_tiers
from exporter.upstream.redact import Redactor

REAL_ASSETS = 360


def v1_body(assets: int) -> bytes:
    entries = [{"asset": f"ASSET{i}", "collateralRate": "0.9500"} for i in range(assets)]
    return json.dumps(entries).encode()


def v2_body(assets: int) -> bytes:
    entries = [
        {"asset": f"ASSET{i}", "collateralInfo": demo_tiers(f"ASSET{i}", 0.95)}
        for i in range(assets)
    ]
    return json.dumps(entries).encode()


def bodies() -> dict[str, tuple[bytes, str]]:
    """Each body, and the signature of the request it answers ("" for v1)."""
    largest = v1_body(DEFAULT_MAX_RESPONSE_BYTES // 40)[:DEFAULT_MAX_RESPONSE_BYTES]
    signature = secrets.token_hex(32)
    return {
        f"v1, {REAL_ASSETS} assets": (v1_body(REAL_ASSETS), ""),
        f"v2, {REAL_ASSETS} assets": (v2_body(REAL_ASSETS), signature),
        "v1, 4 MiB": (largest, ""),
        "4 MiB of escape characters": (b"%\\&#;" * (DEFAULT_MAX_RESPONSE_BYTES // 5), signature),
    }


def measure(repeats: int) -> list[dict[str, object]]:
    redactor = Redactor([secrets.token_hex(32), secrets.token_hex(32)])
    rows: list[dict[str, object]] = []
    for name, (body, signature) in bodies().items():
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            redactor.data(body, signature)
            times.append(time.perf_counter() - started)
        rows.append({"body": name, "bytes": len(body), "ms": statistics.median(times) * 1e3})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction", description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    add_json_option(parser)
    args = parser.parse_args(argv)
    rows = measure(args.repeats)
    for row in rows:
        print(json.dumps(row), flush=True)
    write_json(args.json, "redaction", {"repeats": args.repeats, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
