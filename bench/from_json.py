"""Dataclasses back from the JSON of `dataclasses.asdict`, guided by their type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def load(kind: type[T], value: object) -> T:
    loaded: T = _load(kind, value)
    return loaded


def _load(kind: Any, value: Any) -> Any:
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(
            **{
                field.name: _load(hints[field.name], value[field.name])
                for field in dataclasses.fields(kind)
                if field.init and field.name in value
            }
        )
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _load(inner, value)
    if origin is list:
        return [_load(args[0], item) for item in value]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], item) for item in value)
        return tuple(_load(arg, item) for arg, item in zip(args, value, strict=True))
    if origin is dict:
        return {key: _load(args[1], item) for key, item in value.items()}
    if kind is float:
        return float(value)
    return value
