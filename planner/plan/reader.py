"""Reading a YAML file a user gives: the node tree (for line numbers) and the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from planner.errors import UserError


@dataclass(frozen=True)
class Document:
    """A YAML file read: its name as given, its node tree (lines) and its data."""

    file: str
    root: yaml.Node | None
    data: Any


def read_yaml(path: str | Path, *, what: str = "plan file") -> Document:
    """Read a YAML file into a `Document`; raise `UserError` naming the file (and line)."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise UserError("no such file", file=file)
    if path.is_dir():
        raise UserError(f"is a directory, not a {what}", file=file)
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"YAML syntax error: {problem}", file=file,
                        line=(mark.line + 1) if mark else None) from None
    return Document(file=file, root=root, data=data)
