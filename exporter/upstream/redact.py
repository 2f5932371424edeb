"""Blanks secrets out of text: the API key, the API secret and a signed request's signature, in
every form an upstream or a proxy on the way can echo them back: as given, in another letter
case, URL-encoded (`%4B`, `+` for a space), JSON-escaped (`\\u004b`, `\\/`) or HTML-escaped
(`&#75;`, `&#x4b;`, `&amp;`), and any mix of these, character by character. A configured key or
secret is blanked in pieces too: any PIECE of its characters in a row, and the whole run of its
characters that such a piece is part of."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable

MASK = "<redacted>"
PIECE = 16

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


def _any_escape(backslashes: str) -> str:
    """Every escaped form of a character, JSON's led by `backslashes`."""
    return (
        rf"{backslashes}u[0-9a-f]{{4}}|&#0*[0-9]{{1,7}};|&#x0*[0-9a-f]{{1,6}};|%[0-9a-f]{{2}}"
        rf"|{backslashes}[\"\\\\/]|&(?:amp|quot|apos|lt|gt);"
    )


def _decoded(form: str, plus: str) -> str:
    """The character one echoed form stands for; `plus` is what a lone "+" stands for."""
    if len(form) == 1:
        return plus if form == "+" else form
    if form.startswith("%"):
        return chr(int(form[1:], 16))
    if form.startswith("&"):
        return html.unescape(form)
    escaped = form.lstrip("\\") or "\\"
    return chr(int(escaped[1:], 16)) if len(escaped) == 5 else escaped


class _Pieces:
    """Finds runs of at least PIECE consecutive characters of the given secrets in any mix of
    their forms, and blanks each run whole. Candidates are runs of forms of the secrets'
    characters, found by one regular expression; only those are decoded and compared."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = tuple(s.lower() for s in secrets if len(s) >= PIECE)
        self._grams = {
            secret[i : i + PIECE]: (secret, i)
            for secret in self._secrets
            for i in range(len(secret) - PIECE + 1)
        }
        chars = {c for secret in self._secrets for c in secret}
        plain = "".join(re.escape(c) for c in sorted(chars))
        self._plus = "+" if "+" in chars else " "
        plus = r"|\+" if " " in chars else ""
        # A secret holding a character that starts an escape ("%00" may be "%" and "00") has
        # ambiguous pieces, read one way here; it is still blanked whole. Binance's have none.
        escape = _any_escape(r"\\" if "\\" in chars else r"\\+")
        form = f"{escape}{plus}|[{plain}]"
        self._form = re.compile(form, re.IGNORECASE) if chars else None
        self._run = re.compile(f"(?:{form}){{{PIECE},}}", re.IGNORECASE) if chars else None

    def sub(self, text: str) -> str:
        if self._run is None or self._form is None:
            return text
        pieces: list[str] = []
        done = 0
        for run in self._run.finditer(text):
            for start, end in self._blanked(run.group(), run.start()):
                pieces += [text[done:start], MASK]
                done = end
        pieces.append(text[done:])
        return "".join(pieces)

    def _blanked(self, run: str, offset: int) -> list[tuple[int, int]]:
        """(start, end) offsets in the text of every stretch of `run` to blank."""
        assert self._form is not None
        forms = list(self._form.finditer(run))
        chars = "".join(_decoded(form.group(), self._plus) for form in forms).lower()
        found: list[tuple[int, int]] = []
        at = 0
        while at <= len(chars) - PIECE:
            where = self._grams.get(chars[at : at + PIECE])
            if where is None:
                at += 1
                continue
            secret, index = where
            end = at + PIECE
            while end < len(chars) and index + end - at < len(secret):
                if chars[end] != secret[index + end - at]:
                    break
                end += 1
            found.append((offset + forms[at].start(), offset + forms[end - 1].end()))
            at = end
        return found


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
        self._pieces = _Pieces(self._secrets)
        # Every form of a piece's character holds that character, a hex digit or a letter of an
        # entity name; a window with fewer than PIECE of those (escape characters alone, say)
        # holds no piece.
        telling = {*"0123456789abcdef", *filter(str.isalpha, ENTITY_NAMES), *"".join(self._secrets)}
        telling |= {c.swapcase() for c in telling}
        self._untelling = bytes(b for b in range(0x80) if chr(b) not in telling)

    def extended(self, secrets: Iterable[str]) -> Redactor:
        """A redactor of these secrets as well as this one's."""
        return Redactor((*self._secrets, *secrets))

    def data(self, data: bytes, *also: str) -> bytes:
        """Bytes, read as UTF-8, redacted; bytes that are not UTF-8 are kept as they are."""
        secrets = tuple(sorted({*self._secrets, *(s for s in also if s)}))
        if not secrets:
            return data
        marks = self._marks if secrets == self._secrets else _marks(secrets)
        least_run = b"\x01" * min(PIECE, *(len(s) for s in secrets))
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
            if len(data[run:end].translate(None, self._untelling)) >= PIECE:
                window = self._pieces.sub(window)
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
