"""course.yaml's nodes, read with their file, line and key path: what a value must be, and every error of a
file said once (:class:`Errors`), so one run of the validator reports them all. Nothing is ``exec``'d.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

import yaml

COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's where PyYAML was built with it: the same nodes


class ConfigError(ValueError):
    """course.yaml is invalid: one message per error, each naming the file, line and key."""

    def __init__(self, *errors: str):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


class Node:
    """A YAML node with its path, so errors can name both."""

    def __init__(self, node: yaml.Node, path: str, file: str):
        self.node, self.path, self.file = node, path, file

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}:{self.line}: {self.path or 'top level'}: {message}")

    def child(self, node: yaml.Node, key: str | int) -> "Node":
        path = f"{self.path}[{key}]" if isinstance(key, int) else (f"{self.path}.{key}" if self.path else key)
        return Node(node, path, self.file)

    def mapping(self, required: tuple[str, ...], optional: tuple[str, ...] = (),
                errors: "Errors | None" = None) -> dict[str, "Node"]:
        """The mapping's known keys. With ``errors``, an unknown or repeated key is recorded there and
        the rest is still read; without, it is raised. A missing required key is always raised."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"expected a mapping, got {_kind(self.node)}")
        out: dict[str, Node] = {}
        allowed = required + optional
        for k, v in self.node.value:
            key = _scalar(k)
            problem = None
            if not isinstance(key, str):
                problem = f"keys must be strings, got {key!r}"
            elif key in out:
                problem = f"duplicate key '{key}'"
            elif key not in allowed:
                problem = f"unknown key '{key}' (expected one of: {', '.join(allowed)})"
            if problem is None:
                out[key] = self.child(v, key)
            elif errors is None:
                raise Node(k, self.path, self.file).error(problem)
            else:
                errors.add(Node(k, self.path, self.file).error(problem))
        missing = [k for k in required if k not in out]
        if missing and errors is None:
            raise self.error(f"missing key '{missing[0]}'")
        for k in missing:  # each said once; what needs it then finds it reported already
            errors.add(self.error(f"missing key '{k}'"))  # type: ignore[union-attr]
        return _Known(out) if missing else out

    def sequence(self) -> list["Node"]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"expected a list, got {_kind(self.node)}")
        return [self.child(v, i) for i, v in enumerate(self.node.value)]

    def scalar(self, kind: type | tuple[type, ...], check: Callable[[Any], str | None] | None = None) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"expected {_article(_names(kind))}, got {_kind(self.node)}")
        value = _scalar(self.node)
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(f"expected {_article(_names(kind))}, got a boolean")
        if not isinstance(value, kind):
            hint = ""
            if isinstance(value, str) and re.fullmatch(r"[-+]?\d+e[-+]?\d+", value):
                hint = f" (YAML reads {value} as text; write it with a decimal point, e.g. 1.0e-7)"
            raise self.error(f"expected {_article(_names(kind))}, got {type(value).__name__} {value!r}{hint}")
        if check is not None and (problem := check(value)):
            raise self.error(problem)
        return value


def _kind(node: yaml.Node) -> str:
    return {yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}.get(type(node), "a scalar")


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "number"
    words = {int: "integer", float: "number", str: "string", bool: "boolean", dt.datetime: "date-time"}
    return " or ".join(dict.fromkeys(words.get(k, k.__name__) for k in kinds))


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


NUMBER = (int, float)


def positive(v: Any) -> str | None:
    return None if v > 0 else f"must be positive, got {v}"


def non_negative(v: Any) -> str | None:
    return None if v >= 0 else f"must be zero or more, got {v}"


def fraction(v: Any) -> str | None:
    return None if 0 <= v <= 1 else f"must be between 0 and 1, got {v}"


def one_of(options: tuple[str, ...], what: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"unknown {what} '{v}' (expected one of: {', '.join(options)})"


class _Known(dict):
    """A mapping read with some required keys missing: asking for one raises an error already reported."""

    def __missing__(self, key: str):
        raise Reported()


class Reported(Exception):
    """A step that needs what an error already reported: it is skipped, and says nothing more."""


class Errors:
    """Collects every error of a file, so one run of the validator reports them all."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, error: ConfigError) -> None:
        self.messages.extend(error.errors)

    def attempt(self, step: Callable[[], Any], fallback: Any = None) -> Any:
        try:
            return step()
        except ConfigError as e:
            self.messages.extend(e.errors)
            return fallback
        except Reported:
            return fallback


def compose(text: str, file: str) -> Node:
    try:
        root_node = yaml.compose(text, Loader=COMPOSER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}{line}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if root_node is None:
        raise ConfigError(f"{file}: empty file")
    return Node(root_node, "", file)
