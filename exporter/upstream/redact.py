"""Blanks secrets out of text: the API key, the API secret and a signed request's signature, in
every form an upstream or a proxy on the way can echo them back: as given, in another letter
case, URL-encoded (`%4B`, `+` for a space), JSON-escaped (`\\u004b`, `\\/`) or HTML-escaped
(`&#75;`, `&#x4b;`, `&amp;`), and any mix of these, character by character."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

MASK = "<redacted>"

JSON_SHORT_ESCAPES = frozenset('"\\/')  # JSON escapes these with a backslash in front
HTML_NAMED = {"&": "&amp;", '"': "&quot;", "'": "&apos;", "<": "&lt;", ">": "&gt;"}


def _char_forms(char: str) -> str:
    """A regular expression for one character of a secret in any of its echoed forms; the
    escaped forms first, so that a backslash or an ampersand is not taken for the whole. A JSON
    escape may come with its backslash doubled, once per further level of JSON encoding."""
    code = ord(char)
    forms = [rf"\\+u{code:04x}", f"&#0*{code};", f"&#x0*{code:x};"]
    if code < 0x80:
        forms.append(f"%{code:02x}")
    if char in JSON_SHORT_ESCAPES:
        forms.append(r"\\+" + re.escape(char))
    if char in HTML_NAMED:
        forms.append(re.escape(HTML_NAMED[char]))
    if char == " ":
        forms.append(r"\+")
    forms.append(re.escape(char))
    return "(?:" + "|".join(forms) + ")"


def secret_pattern(secret: str) -> str:
    return "".join(_char_forms(char) for char in secret)


# Every character an escaped form is made of (hex digits, and the names of the HTML entities).
ENTITY_NAMES = "".join(HTML_NAMED.values())
ESCAPE_ALPHABET = frozenset(
    "0123456789abcdefABCDEF%\\&#;+xXuU" + ENTITY_NAMES + ENTITY_NAMES.upper()
)


def _compile(secrets: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first: a secret that contains another is blanked whole.
    ordered = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join(secret_pattern(s) for s in ordered), re.IGNORECASE)


# The configured secrets of each redactor (one per watched account, and the exporter's own):
# compiled once. A request's signature is compiled on its own, when its answer needs it, so
# that it neither evicts these nor makes them compile again.
_compiled = functools.lru_cache(maxsize=256)(_compile)


def _marks(secrets: Iterable[str]) -> bytes:
    """A bytes.translate table: 1 for every byte a form of one of the secrets can hold."""
    alphabet = set(ESCAPE_ALPHABET)
    for char in "".join(secrets):
        alphabet.update((char, char.lower(), char.upper()))
    marks = bytearray(256)
    for char in alphabet:
        if ord(char) < 0x80:
            marks[ord(char)] = 1
    if any(ord(char) >= 0x80 for char in alphabet):
        marks[0x80:] = b"\x01" * 0x80  # UTF-8 sequences of any non-ASCII character
    return bytes(marks)


class Redactor:
    """Replaces the configured secrets, and those given with one call (a request's signature),
    by `<redacted>`.

    Every form of a secret is a run of bytes from a small alphabet (its own characters in both
    cases, and those the escapes are made of) at least as long as the secret. Such runs are
    found with bytes.translate and a substring search, both in C, and the full pattern is
    tried only inside them: a JSON body or an error page has few, so a large body costs little."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if s}))
        self._marks = _marks(self._secrets)

    def extended(self, secrets: Iterable[str]) -> Redactor:
        """A redactor of these secrets as well as this one's."""
        return Redactor((*self._secrets, *secrets))

    def data(self, data: bytes, *also: str) -> bytes:
        """Bytes, read as UTF-8, redacted; bytes that are not UTF-8 are kept as they are."""
        secrets = tuple(sorted({*self._secrets, *(s for s in also if s)}))
        if not secrets:
            return data
        marks = self._marks if secrets == self._secrets else _marks(secrets)
        least_run = b"\x01" * min(len(s) for s in secrets)
        marked = data.translate(marks)
        run = marked.find(least_run)
        if run < 0:
            return data
        patterns = self._patterns(secrets, data)
        pieces: list[bytes] = []
        done = 0
        while run >= 0:
            end = marked.find(b"\x00", run)
            end = len(data) if end < 0 else end
            window = data[run:end].decode("utf-8", "surrogateescape")
            for pattern in patterns:
                window = pattern.sub(MASK, window)
            pieces += [data[done:run], window.encode("utf-8", "surrogateescape")]
            done = end
            run = marked.find(least_run, end)
        pieces.append(data[done:])
        return b"".join(pieces)

    def _patterns(self, secrets: tuple[str, ...], data: bytes) -> list[re.Pattern[str]]:
        """The configured secrets' pattern (cached) and the one of the others given with this
        call (only when the data has a run of their characters long enough to hold one of
        them), the group holding the longest secret first."""
        extra = tuple(s for s in secrets if s not in self._secrets)
        if extra:
            least_run = b"\x01" * min(len(s) for s in extra)
            if data.translate(_marks(extra)).find(least_run) < 0:
                extra = ()
        groups = [group for group in (self._secrets, extra) if group]
        groups.sort(key=lambda group: max(map(len, group)), reverse=True)
        return [_compiled(group) if group is self._secrets else _compile(group) for group in groups]

    def text(self, text: str, *also: str) -> str:
        redacted = self.data(text.encode("utf-8", "surrogatepass"), *also)
        return redacted.decode("utf-8", "surrogatepass")
