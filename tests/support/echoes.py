"""The forms in which an upstream, or a proxy on the way, can echo a secret back: as sent, in
another letter case, URL-encoded (%XX, mixed case hex, + for a space), JSON-escaped (\\uXXXX,
\\/; and escaped again, as JSON quoting JSON does), HTML-escaped, and character-by-character
mixes of these."""

from __future__ import annotations

import html
import json
import random
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st


def url_encoded_all(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


def json_escaped_all(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def html_escaped_all(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


def mixed(text: str, seed: int = 7) -> str:
    """Each character in a form picked at random (the same every run for a seed)."""
    rng = random.Random(seed)
    forms: list[Callable[[str], str]] = [
        lambda c: c,
        lambda c: c.swapcase(),
        lambda c: f"%{ord(c):02x}",
        lambda c: f"%{ord(c):02X}",
        lambda c: f"\\u{ord(c):04X}",
        lambda c: f"&#x{ord(c):x};",
    ]
    return "".join(rng.choice(forms)(c) for c in text)


FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "lower": str.lower,
    "upper": str.upper,
    "url-encoded": url_encoded_all,
    "url-quoted": lambda s: quote(s, safe=""),
    "url-quoted-plus": quote_plus,
    "json-escaped": json_escaped_all,
    "json-dumped-ascii": lambda s: json.dumps(s)[1:-1],
    "json-escaped-twice": lambda s: json.dumps(json_escaped_all(s))[1:-1],
    "html-escaped": html_escaped_all,
    "html-quoted": html.escape,
    "mixed": mixed,
}


@st.composite
def echoed(draw: st.DrawFn, secret: str) -> str:
    """The secret in a form hypothesis picks per character."""
    return mixed(secret, draw(st.integers(min_value=0, max_value=2**32)))
