"""Reading a file a user gives as untrusted input: a YAML node tree (for line numbers) and data.

Every failure is one `UserError` naming the file and, where there is one, the line and the field
path. The limits (README, "Limits"):

- the file guard of `pricing.files`: a regular file (no FIFO, device or folder; never blocks),
  at most `MAX_PLAN_BYTES`, UTF-8 (a byte-order mark is tolerated), `~` expanded;
- nesting at most `MAX_DEPTH` levels (mappings and lists), counted through aliases as well;
- at most `MAX_NODES` values once aliases are expanded (a "billion laughs" file is refused
  before anything walks it), and no alias that contains itself;
- no key twice in one mapping (YAML would silently keep the last): both lines are named;
- numbers written with at most `MAX_NUMBER_CHARS` characters (a 5,000-digit integer is refused
  before Python converts it);
- dates stay text: `2027-01-15` is the string the user wrote, not a `datetime.date` (year 0 or
  10000 can't crash the loader; the schema says what it expects instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from planner.errors import UserError
from pricing import files

MAX_PLAN_BYTES = 1 * files.MIB
MAX_FORECAST_BYTES = 64 * files.MIB
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_NUMBER_CHARS = 40
MAX_PROBLEM_CHARS = 160

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class Document:
    """A YAML file read: its name as given, its node tree (lines) and its data."""

    file: str
    root: Node | None
    data: Any


class _Rejected(Exception):
    """A limit or rule of this reader broken at `line` (about the value at `path`)."""

    def __init__(self, message: str, line: int | None = None, path: tuple[Any, ...] = ()):
        super().__init__(message)
        self.message, self.line, self.path = message, line, path


class _Construction:
    """Turns a value PyYAML cannot construct into a one-line error at that value's line."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            raise _Rejected(f"cannot read this value: {files.clip(str(exc), MAX_PROBLEM_CHARS)}",
                            node.start_mark.line + 1) from None


class _Loader(_Construction, yaml.SafeLoader):
    """SafeLoader that bounds nesting and node count while composing and keeps dates as text."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Rejected(f"nested more than {MAX_DEPTH} levels deep", mark.line + 1)
            self._nodes += 1
            if self._nodes > MAX_NODES:
                mark = self.peek_event().start_mark
                raise _Rejected(f"more than {MAX_NODES:,} values", mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = _RESOLVERS

if yaml.__with_libyaml__:
    class _CLoader(_Construction, yaml.CSafeLoader):
        """libyaml's parser and composer (several times faster), with the same construction and
        resolvers. Its composer recurses, so `_precheck` bounds depth and size first."""

    _CLoader.yaml_implicit_resolvers = _RESOLVERS
else:  # pragma: no cover - PyYAML built without libyaml
    _CLoader = None


def _precheck(text: str) -> None:
    """Nesting depth and node count from libyaml's event stream (no tree is built yet)."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
            nodes += 1
            if nodes > MAX_NODES:
                raise _Rejected(f"more than {MAX_NODES:,} values", event.start_mark.line + 1)
            if depth + 1 > MAX_DEPTH:
                raise _Rejected(f"nested more than {MAX_DEPTH} levels deep", event.start_mark.line + 1)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _children(node: Node, path: tuple[Any, ...]) -> list[tuple[Node, tuple[Any, ...]]]:
    if isinstance(node, SequenceNode):
        return [(child, path + (i,)) for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out = []
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else "?"
            out.append((key, path))
            out.append((value, path + (name,)))
        return out
    return []


def _check_node(node: Node, path: tuple[Any, ...]) -> None:
    """Rules on one distinct node: number length, duplicate keys."""
    if isinstance(node, ScalarNode):
        if node.tag in (_INT, _FLOAT) and len(node.value) > MAX_NUMBER_CHARS:
            raise _Rejected(f"a number written with {len(node.value):,} characters; numbers have at most "
                            f"{MAX_NUMBER_CHARS}", node.start_mark.line + 1, path)
        return
    if isinstance(node, MappingNode):
        seen: dict[tuple[str, str], ScalarNode] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE:
                continue
            first = seen.setdefault((key.tag, key.value), key)
            if first is not key:
                line = key.start_mark.line + 1
                raise _Rejected(f"duplicate key (first at line {first.start_mark.line + 1}, again at line "
                                f"{line}; YAML would keep only the last): give it once", line,
                                path + (key.value,))


def check_tree(root: Node) -> None:
    """Expanded size, depth through aliases, recursive aliases, and `_check_node` on every
    distinct node; linear in the distinct nodes (aliases are counted, not walked again)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    state: dict[int, bool] = {}  # False while its subtree is being walked, True when done
    stack: list[tuple[Node, tuple[Any, ...], bool]] = [(root, (), False)]
    while stack:
        node, path, done = stack.pop()
        key = id(node)
        if done:
            kids = [child for child, _ in _children(node, path)]
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            state[key] = True
            if size[key] > MAX_NODES:
                raise _Rejected(f"aliases expand to more than {MAX_NODES:,} values", node.start_mark.line + 1, path)
            if depth[key] > MAX_DEPTH:
                raise _Rejected(f"nested more than {MAX_DEPTH} levels deep (through aliases)",
                                node.start_mark.line + 1, path)
            continue
        if key in state:
            if not state[key]:
                raise _Rejected("an alias refers to a value that contains it", node.start_mark.line + 1, path)
            continue
        state[key] = False
        _check_node(node, path)
        stack.append((node, path, True))
        stack.extend((child, child_path, False) for child, child_path in reversed(_children(node, path)))


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    if isinstance(exc, yaml.reader.ReaderError):
        return (f"character 0x{exc.character:x} is not allowed in YAML" if isinstance(exc.character, int)
                else "a character YAML does not allow"), text.count("\n", 0, exc.position) + 1
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):  # "expected a single document ... but found another"
        problem = f"{context} {problem}"
    return files.clip(problem, MAX_PROBLEM_CHARS), (mark.line + 1) if mark else None


def read_text(path: str | Path, *, what: str, max_bytes: int) -> str:
    """The UTF-8 text of a regular file a user named, or `UserError` (see `pricing.files`)."""
    try:
        return files.read_text(path, what=what, max_bytes=max_bytes)
    except files.FileRejected as exc:
        raise UserError(exc.message, file=exc.file, line=exc.line) from None


def read_yaml(path: str | Path, *, what: str = "plan file", max_bytes: int = MAX_PLAN_BYTES) -> Document:
    """Read a YAML file into a `Document`; raise `UserError` naming the file (and line, field)."""
    file = str(path)
    text = read_text(path, what=what, max_bytes=max_bytes)
    return parse_yaml(text, file=file)


def parse_yaml(text: str, *, file: str) -> Document:
    """`read_yaml` on text already read (the same limits and errors)."""
    from planner.plan.errors import loc_to_path

    loader = None
    try:
        if _CLoader is not None:
            _precheck(text)
            loader = _CLoader(text)
        else:
            loader = _Loader(text)
        root = loader.get_single_node()
        if root is not None:
            check_tree(root)
            data = loader.construct_document(root)
        else:
            data = None
    except _Rejected as exc:
        raise UserError(exc.message, file=file, line=exc.line, field=loc_to_path(exc.path) or None) from None
    except yaml.YAMLError as exc:
        problem, line = _yaml_problem(exc, text)
        raise UserError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except RecursionError:  # not reachable within MAX_DEPTH; never a traceback all the same
        raise UserError(f"nested too deeply (at most {MAX_DEPTH} levels)", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(file=file, root=root, data=data)
