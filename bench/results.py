"""A benchmark's figures as one JSON object, {"benchmark": NAME, ...}: every script under bench/
that prints figures takes `--json PATH`, and `python -m bench.report PATH...` turns the files
into the docs' Markdown tables."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write the figures here as JSON (tables: python -m bench.report PATH)",
    )


def write_json(path: Path | None, benchmark: str, figures: Mapping[str, object]) -> None:
    if path is None:
        return
    document = {"benchmark": benchmark, **figures}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n")
