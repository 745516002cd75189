"""The README cannot drift from the code: every plan field is documented, every command exists."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from planner.cli import app, run
from planner.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _fields(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        if name == "file":
            continue
        yield prefix + name, name
        ann = field.annotation
        for arg in (ann, *typing.get_args(ann)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _fields(arg, prefix + name + ".")


def test_readme_documents_every_plan_field():
    missing = [path for path, name in _fields(Plan) if f"`{name}`" not in README and f"`{path}`" not in README]
    assert not missing, f"README.md does not document: {missing}"


def test_readme_two_commands_are_make_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("forecast", "test"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_commands_exist(capsys):
    assert run(["--help"]) == 0
    listed = capsys.readouterr().out
    for command in re.findall(r"^\| `planner (\w+)", README, re.M):
        assert command in listed, command
    names = {c.name or c.callback.__name__ for c in app.registered_commands} | {g.name for g in app.registered_groups}
    for command in names:
        assert f"`planner {command}" in README, f"planner {command} is not in the README"


def test_every_command_has_help_with_an_example(capsys):
    for argv in (["validate"], ["forecast"], ["size"], ["perf"], ["prices"], ["prices", "refresh"], ["quotas"]):
        assert run([*argv, "--help"]) == 0
        out = capsys.readouterr().out
        assert "Example" in out or "example" in out, argv
