"""Hypothesis strategies for what a hostile or broken upstream may send as a response body:
arbitrary bytes, arbitrary JSON, and rate lists whose names and values are as odd as JSON
allows (control characters, quotes, backslashes, lone surrogates, huge numbers, duplicate
keys, deep nesting)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

ODD_ASSETS = (
    "BTC",
    "1000SATS",
    "币安人生",
    'quo"te',
    "back\\slash",
    "new\nline",
    "tab\there",
    " padded ",
    "",
    "a" * 64,
    "a" * 65,
    "\u2028",
    "\x00",
    "# HELP",
    "} 1\nfake_metric 2",
    "binance_pm_up",
    "\ud800",
)
ODD_RATES = (
    "0.5",
    "1.0000",
    "0",
    "-0",
    "1e-3",
    " 0.25 ",
    "0x1p-1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1.0000000000000001",
    "1_0",
    "0.5_0",
    "\u0660.\u0665",  # Arabic-Indic digits, which float() reads
    "",
    "1" * 70,
    "9" * 400,
)

odd_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(min_codepoint=0, max_codepoint=0x1F),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.sampled_from('"\\{}=,# \u2028\u0085\ufeff'),
    ),
    max_size=80,
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(odd_text, children, max_size=4)
    ),
    max_leaves=20,
)
assets = st.one_of(st.sampled_from(ODD_ASSETS), odd_text, json_scalars)
rates = st.one_of(
    st.sampled_from(ODD_RATES),
    st.floats(min_value=0, max_value=1).map(str),
    st.decimals(min_value=0, max_value=1, places=8).map(str),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2, max_value=2),
    odd_text,
    json_values,
)
entries = st.one_of(
    st.fixed_dictionaries(
        {"asset": assets, "collateralRate": rates}, optional={"extra": json_values}
    ),
    json_values,
)


@st.composite
def encoded(draw: st.DrawFn, document: Any) -> bytes:
    ascii_only = draw(st.booleans())
    text = json.dumps(document, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def rate_lists(draw: st.DrawFn) -> bytes:
    return draw(encoded(draw(st.lists(entries, max_size=12))))


@st.composite
def duplicate_keys(draw: st.DrawFn) -> bytes:
    """Objects with a key given twice, which JSON allows and dicts cannot express."""
    first = json.dumps(draw(st.sampled_from(ODD_ASSETS)))
    second = json.dumps(draw(st.sampled_from(ODD_ASSETS)))
    rate = json.dumps(draw(st.sampled_from(ODD_RATES)))
    other = json.dumps(draw(st.sampled_from(ODD_RATES)))
    entry = draw(
        st.sampled_from(
            [
                f'{{"asset": {first}, "asset": {second}, "collateralRate": {rate}}}',
                f'{{"asset": {first}, "collateralRate": {rate}, "collateralRate": {other}}}',
            ]
        )
    )
    good = '{"asset": "OK", "collateralRate": "0.5"}'
    return f"[{entry}, {good}]".encode("utf-8", "surrogatepass")


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(min_value=1, max_value=200_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"asset":', "}]")]))
    inner = "1" if opener != "[" else ""
    return (opener * depth + inner + closer * depth).encode()


huge_numbers = st.sampled_from(
    [
        b"[" + b"9" * 5000 + b"]",
        b'[{"asset": "BTC", "collateralRate": ' + b"1" * 5000 + b"}]",
        b'[{"asset": "BTC", "collateralRate": 1e999}]',
        b'[{"asset": "BTC", "collateralRate": NaN}]',
        b'[{"asset": "BTC", "collateralRate": "0.95"},]',
    ]
)

bodies = st.one_of(
    st.binary(max_size=512),
    json_values.flatmap(encoded),
    rate_lists(),
    rate_lists(),
    duplicate_keys(),
    deep_nesting(),
    huge_numbers,
)
