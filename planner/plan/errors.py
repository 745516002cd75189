"""Validation errors as one line: file, YAML line, field path, what is wrong.

Validators that need to point below the field they validate raise `FieldError` with the extra
path as data (`FieldError("unknown region", path=(2,))`); pydantic keeps the exception in
``err["ctx"]["error"]`` and `user_error` appends its path to the error's location. No message is
ever parsed back for a location.
"""

from __future__ import annotations

import enum
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from planner.errors import UserError, did_you_mean
from pricing.files import shorten

MAX_KEY_CHARS = 40


class FieldError(ValueError):
    """A validator's complaint, with the path below the validated field that it is about."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.message = message
        self.path = tuple(path)


def loc_to_path(loc: tuple[Any, ...]) -> str:
    """('workloads', 0, 'traffic') -> 'workloads[0].traffic'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if len(text) > MAX_KEY_CHARS:  # a key is quoted like any value: never all of a huge one
                text = text[: MAX_KEY_CHARS - 1] + "…"
            out += ("." if out else "") + text
    return out


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its deepest existing parent)."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        node = nxt
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _field_annotation(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The annotation of the field at `loc` (list items and optionals unwrapped), or None."""
    current: Any = model
    ann: Any = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        for _ in range(3):  # unwrap list[X], X | None
            args = typing.get_args(ann)
            if not args or typing.get_origin(ann) is typing.Literal:
                break
            ann = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)),
                       next((a for a in args if a is not type(None)), args[0]))
        current = ann
    return ann


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    ann = model if not loc else _field_annotation(model, loc)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _choices(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid values of a Literal or Enum field at `loc` (for 'did you mean')."""
    ann = _field_annotation(model, loc)
    if typing.get_origin(ann) is typing.Literal:
        return [str(a) for a in typing.get_args(ann)]
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return [str(m.value) for m in ann]
    return []


def message(err: dict[str, Any], model: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    """The location (validator sub-paths appended) and the one-line text of one pydantic error."""
    loc = tuple(err["loc"])
    kind = err["type"]
    msg = err["msg"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        choices = [c for c in (parent.model_fields if parent else []) if c != "file"]
        return loc, f"unknown field{did_you_mean(str(loc[-1]), choices)}"
    if kind == "missing":
        return loc, "is required"
    if kind in ("literal_error", "enum"):
        value = err.get("input")
        expected = ctx.get("expected", "")
        hint = did_you_mean(value, _choices(model, loc)) if isinstance(value, str) and len(value) <= 200 else ""
        return loc, f"{shorten(value)} is not one of {expected}{hint}"
    if kind == "value_error":
        error = ctx.get("error")
        if isinstance(error, FieldError):
            return loc + error.path, error.message
        return loc, str(error) if error is not None else msg
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return loc, f"{msg.lower()}, got {shorten(err.get('input'))}"
    value = err.get("input")
    got = f", got {shorten(value)}" if "input" in err and not isinstance(value, (dict, list)) else ""
    return loc, f"{msg[0].lower()}{msg[1:]}{got}"


def user_error(exc: ValidationError, model: type[BaseModel], *, file: str,
               root: yaml.Node | None = None) -> UserError:
    """The first error of `exc` as a `UserError` naming the file, the YAML line and the field."""
    loc, text = message(exc.errors()[0], model)
    return UserError(text, file=file, field=loc_to_path(loc) or None, line=line_of(root, loc))
