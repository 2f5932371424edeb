"""Blanks secrets out of text: the API key, the API secret and request signatures, in every
form an upstream or a proxy on the way can echo them back: as given, in another letter case,
URL-encoded (`%4B`, `+` for a space), JSON-escaped (`\\u004b`, `\\/`) or HTML-escaped (`&#75;`,
`&#x4b;`, `&amp;`), and any mix of these, character by character.

A signature (the hex HMAC-SHA256 that ends a signed query) authorises its request until the
timestamp leaves recvWindow: any run of 64 hex digits, in any of those forms, is blanked, so no
per-request secret needs to be known here."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "<redacted>"

JSON_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/"}
HTML_NAMED = {"&": "&amp;", '"': "&quot;", "'": "&apos;", "<": "&lt;", ">": "&gt;"}


def _char_forms(char: str) -> str:
    """A regular expression for one character of a secret in any of its echoed forms; the
    escaped forms first, so that a backslash or an ampersand is not taken for the whole."""
    code = ord(char)
    forms = [rf"\\u{code:04x}", f"&#0*{code};", f"&#x0*{code:x};"]
    if code < 0x80:
        forms.append(f"%{code:02x}")
    if char in JSON_SHORT_ESCAPES:
        forms.append(re.escape(JSON_SHORT_ESCAPES[char]))
    if char in HTML_NAMED:
        forms.append(re.escape(HTML_NAMED[char]))
    if char == " ":
        forms.append(r"\+")
    forms.append(re.escape(char))
    return "(?:" + "|".join(forms) + ")"


def secret_pattern(secret: str) -> str:
    return "".join(_char_forms(char) for char in secret)


# One hex digit (0-9, a-f: codes 0x30-0x39, 0x61-0x66, and A-F by the case rule) in any form.
HEX_CODE = "(?:3[0-9]|[46][1-6])"
HEX_DECIMAL = "(?:4[89]|5[0-7]|6[5-9]|70|9[7-9]|10[0-2])"
HEX_DIGIT = rf"(?:[0-9a-f]|%{HEX_CODE}|\\u00{HEX_CODE}|&#0*{HEX_DECIMAL};|&#x0*{HEX_CODE};)"
SIGNATURE_DIGITS = 64
SIGNATURE_PATTERN = HEX_DIGIT + f"{{{SIGNATURE_DIGITS}}}"
# Every character any escaped form is made of (hex digits, and the names of the HTML entities).
ENTITY_NAMES = "".join(HTML_NAMED.values())
ESCAPE_ALPHABET = frozenset(
    "0123456789abcdefABCDEF%\\&#;+xXuU" + ENTITY_NAMES + ENTITY_NAMES.upper()
)


class Redactor:
    """Replaces the configured secrets and any signature by `<redacted>`.

    Every form of a secret is a run of bytes from a small alphabet (its own characters in both
    cases, and those the escapes are made of) at least as long as the secret. Such runs are
    found with bytes.translate and a substring search, both in C, and the full pattern is
    tried only inside them: a JSON body or an error page has few, so a large body costs little."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first: a secret that contains another is blanked whole.
        unique = sorted({s for s in secrets if s}, key=len, reverse=True)
        patterns = [*(secret_pattern(s) for s in unique), SIGNATURE_PATTERN]
        self._pattern = re.compile("|".join(patterns), re.IGNORECASE)
        alphabet = set(ESCAPE_ALPHABET)
        for char in "".join(unique):
            alphabet.update((char, char.lower(), char.upper()))
        marks = bytearray(256)
        for char in alphabet:
            if ord(char) < 0x80:
                marks[ord(char)] = 1
        if any(ord(char) >= 0x80 for char in alphabet):
            marks[0x80:] = b"\x01" * 0x80  # UTF-8 sequences of any non-ASCII character
        self._marks = bytes(marks)
        shortest = min((len(s) for s in unique), default=SIGNATURE_DIGITS)
        self._least_run = b"\x01" * min(shortest, SIGNATURE_DIGITS)

    def data(self, data: bytes) -> bytes:
        """Bytes, read as UTF-8, redacted; bytes that are not UTF-8 are kept as they are."""
        marked = data.translate(self._marks)
        run = marked.find(self._least_run)
        if run < 0:
            return data
        pieces: list[bytes] = []
        done = 0
        while run >= 0:
            end = marked.find(b"\x00", run)
            end = len(data) if end < 0 else end
            window = data[run:end].decode("utf-8", "surrogateescape")
            pieces += [
                data[done:run],
                self._pattern.sub(MASK, window).encode("utf-8", "surrogateescape"),
            ]
            done = end
            run = marked.find(self._least_run, end)
        pieces.append(data[done:])
        return b"".join(pieces)

    def text(self, text: str) -> str:
        return self.data(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")
