"""The redactor alone: every echoed form of a secret or a signature is blanked, and nothing
else is touched."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.upstream.redact import MASK, PIECE, Redactor
from tests.support.echoes import FORMS, mixed, url_encoded_all
from tests.support.exporter import API_KEY, SECRET

SIGNATURE = secrets.token_hex(32)


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("secret", [API_KEY, SECRET, SIGNATURE, "p@ss w/rd&\"<'>\\"])
def test_the_redactor_blanks_every_form(form: str, secret: str) -> None:
    redactor = Redactor([API_KEY, SECRET, "p@ss w/rd&\"<'>\\"])
    echo = FORMS[form](secret)
    assert redactor.text(f"before {echo} after", SIGNATURE) == f"before {MASK} after"
    data = f"x{echo}\xff".encode("latin-1", "replace")
    assert redactor.data(data, SIGNATURE).startswith(b"x<redacted>")


def test_the_redactor_keeps_everything_else() -> None:
    redactor = Redactor([API_KEY])
    short = PIECE - 1
    text = (
        f"{API_KEY[:short]} {SIGNATURE[:63]} %41 \\u0041 &#65; {mixed(API_KEY[1:PIECE])} {'f' * 64}"
    )
    assert redactor.text(text, SIGNATURE) == text
    assert redactor.data(b"\xff\xfe not utf-8 \x80") == b"\xff\xfe not utf-8 \x80"
    assert redactor.text(SIGNATURE + "0" * 10, SIGNATURE) == MASK + "0" * 10
    assert redactor.text(SIGNATURE) == SIGNATURE, "a signature is one call's secret"


def test_a_signature_is_blanked_whole_in_a_signed_query() -> None:
    redactor = Redactor()
    query = f"timestamp=1&recvWindow=5000&signature={SIGNATURE}"
    assert redactor.text(url_encoded_all(query), SIGNATURE).endswith(url_encoded_all("=") + MASK)
    assert redactor.text(f"{query.upper()}\n", SIGNATURE).endswith(f"SIGNATURE={MASK}\n")


printable_secrets = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=80
)


@settings(max_examples=300, deadline=None)
@given(secret=printable_secrets, seed=st.integers(0, 2**32), before=st.text(), after=st.text())
def test_any_mix_of_forms_of_any_secret_is_blanked(
    secret: str, seed: int, before: str, after: str
) -> None:
    echo = mixed(secret, seed)
    redacted = Redactor([secret]).text(before + echo + after)
    assert MASK in redacted
    assert secret not in redacted.replace(MASK, "\x00")


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000))
def test_bytes_without_a_secret_pass_unchanged(data: bytes) -> None:
    assert Redactor([API_KEY]).data(data.replace(API_KEY.encode(), b"")) == data.replace(
        API_KEY.encode(), b""
    )


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("secret", [API_KEY, SECRET])
def test_a_key_or_secret_echoed_in_pieces_is_blanked_piece_by_piece(form: str, secret: str) -> None:
    redactor = Redactor([API_KEY, SECRET])
    first, middle, last = secret[:PIECE], secret[3 : 5 + PIECE], secret[-PIECE:]
    echo = f"a={FORMS[form](first)}&b={FORMS[form](middle)} c {FORMS[form](last)}."
    assert redactor.text(echo) == f"a={MASK}&b={MASK} c {MASK}."
    assert redactor.text(secret[: PIECE - 1]) == secret[: PIECE - 1]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_any_run_of_piece_characters_leaves_nothing_of_itself(
    data: st.DataObject, seed: int
) -> None:
    secret = data.draw(st.sampled_from([API_KEY, SECRET]))
    start = data.draw(st.integers(0, len(secret) - PIECE))
    end = data.draw(st.integers(start + PIECE, len(secret)))
    redacted = Redactor([API_KEY, SECRET]).text(f"<{mixed(secret[start:end], seed)}>")
    assert redacted == f"<{MASK}>"


# Binance's keys and secrets are letters and digits. A character that starts an escape ("%00":
# a percent sign and two zeros, or one escaped NUL) makes a piece ambiguous: such secrets are
# blanked whole (above), and their pieces are not promised.
piece_secrets = printable_secrets.filter(lambda s: len(s) >= PIECE and not set(s) & set("%&\\+"))


@settings(max_examples=200, deadline=None)
@given(secret=piece_secrets, data=st.data())
def test_pieces_of_any_secret_are_blanked(secret: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(secret) - PIECE))
    end = data.draw(st.integers(start + PIECE, len(secret)))
    seed = data.draw(st.integers(0, 2**32))
    redacted = Redactor([secret]).text(f"[{mixed(secret[start:end], seed)}]")
    assert secret[start : start + PIECE] not in redacted.replace(MASK, "\x00")
    assert MASK in redacted
