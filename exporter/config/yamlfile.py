"""The one way the exporter reads a YAML file (the web config, the accounts file): safe YAML,
size-capped, a key given twice refused, and every way the file can be wrong, PyYAML's
construction errors included (`!!int x`, an integer of 5,000 digits: ValueError, not a
YAMLError), turned into one ConfigError line."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from exporter.config.errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice (two entries for one user, say)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's constructors let ValueError and its kin through (`!!int x`, an integer
        # beyond Python's limit of digits, `!!timestamp 2024-13-45`): one YAML error with the
        # place, and without the value, which may be a password put there by mistake.
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError):
            tag = node.tag.removeprefix("tag:yaml.org,2002:")
            raise yaml.constructor.ConstructorError(
                None, None, f"the value cannot be read as {tag}", node.start_mark
            ) from None


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"invalid YAML{where}: {problem}"


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"larger than {MAX_FILE_BYTES} bytes")
    return data


def load_yaml_file(path: Path, source: str) -> object:
    """The document of a YAML file, or ConfigError("<source> '<path>': <what is wrong>").
    `source` names the flag or variable that named the file."""
    try:
        data = _read(path)
        return yaml.load(data, Loader=_StrictLoader)
    except ConfigError as exc:
        message = str(exc)
    except yaml.YAMLError as exc:
        message = _yaml_error(exc)
    except RecursionError:
        message = "nested too deeply"
    except (ValueError, TypeError, OverflowError) as exc:
        message = f"a value YAML cannot read ({type(exc).__name__})"
    raise ConfigError(f"{source} {str(path)!r}: {message}")
