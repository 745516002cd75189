"""planner.outdir.write_folder: the output folder is replaced whole or left as it was, never mixed."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest

from planner import outdir
from planner.cli import run
from planner.errors import UserError

FILES = {"report.md": "new md", "report.html": "new html", "forecast.csv": "new csv", "forecast.json": "{}"}
OLD = {"report.md": "old md", "report.html": "old html", "forecast.csv": "old csv", "forecast.json": "[]"}


def contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}


def previous(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    outdir.write_folder(out, OLD)
    return out


def only_out(tmp_path: Path) -> None:
    """No temporary or set-aside folder is left beside the target."""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], list(tmp_path.iterdir())


def test_outdir_new_folder_gets_the_files_with_ordinary_permissions(tmp_path):
    out = tmp_path / "out"
    paths = outdir.write_folder(out, FILES)
    assert paths == [out / name for name in FILES]
    assert contents(out) == FILES
    assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()
    only_out(tmp_path)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "rename-aside"])
def test_outdir_replaces_a_previous_run_whole(tmp_path, monkeypatch, exchange):
    out = previous(tmp_path)
    (out / "report.md").unlink()  # an older run may have written fewer files
    if not exchange:
        monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    outdir.write_folder(out, FILES)
    assert contents(out) == FILES
    only_out(tmp_path)


def test_outdir_expands_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    paths = outdir.write_folder("~/out", FILES)
    assert paths[0] == tmp_path / "out" / "report.md"
    assert contents(tmp_path / "out") == FILES


@pytest.mark.parametrize("setup, words", [
    (lambda out: (out.mkdir(), (out / "notes.txt").write_text("mine")), "holds notes.txt"),
    (lambda out: (out.mkdir(), (out / "forecast.json").mkdir()), "holds forecast.json"),
    (lambda out: (out.mkdir(), (out / "sub").mkdir()), "holds sub"),
    (lambda out: out.write_text("a file"), "is a file, not a folder"),
    (lambda out: out.symlink_to(out.parent), "is a symbolic link"),
], ids=["user-file", "our-name-as-folder", "subfolder", "file", "symlink"])
def test_outdir_refuses_a_target_it_would_lose_something_in(tmp_path, setup, words):
    out = tmp_path / "out"
    setup(out)
    before = {p.name for p in out.iterdir()} if out.is_dir() and not out.is_symlink() else None
    with pytest.raises(UserError, match=words):
        outdir.write_folder(out, FILES)
    if before is not None:
        assert {p.name for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("target, words", [
    ("/dev/null", "is a device, not a folder"),
    ("{tmp}/missing/out", "does not exist"),
    ("{tmp}/" + "x" * 300, "name is 300 bytes long"),
    (".", "a name of its own"),
    ("{tmp}/..", "a name of its own"),
    ("", "a name of its own"),
], ids=["device", "missing-parent", "too-long", "dot", "dotdot", "empty"])
def test_outdir_bad_target_is_one_user_error(tmp_path, target, words):
    with pytest.raises(UserError, match=words):
        outdir.write_folder(target.format(tmp=tmp_path), FILES)


def test_outdir_read_only_or_full_disk_is_one_user_error(tmp_path, monkeypatch):
    out = previous(tmp_path)

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real_open = open
    monkeypatch.setattr("builtins.open", lambda f, *a, **k: full() if ".planner-tmp-" in str(f) else real_open(f, *a, **k))
    with pytest.raises(UserError, match="No space left on device"):
        outdir.write_folder(out, FILES)
    assert contents(out) == OLD
    only_out(tmp_path)
    monkeypatch.setattr(outdir.os, "access", lambda *_a: False)  # root ignores permission bits
    with pytest.raises(UserError, match="permission denied"):
        outdir.write_folder(out, FILES)


def test_outdir_failed_swap_keeps_the_previous_folder(tmp_path, monkeypatch):
    out = previous(tmp_path)
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def rename(src, dst):
        if ".planner-tmp-" in str(src) and Path(dst) == out:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_rename(src, dst)

    monkeypatch.setattr(outdir.os, "rename", rename)
    with pytest.raises(UserError, match="Input/output error"):
        outdir.write_folder(out, FILES)
    assert contents(out) == OLD  # renamed aside, then back
    only_out(tmp_path)


class Interrupted(Exception):
    pass


@pytest.fixture
def sigterm_raises():
    """SIGTERM raises Interrupted (instead of ending pytest) for the length of a test."""
    def handler(_signum, _frame):
        raise Interrupted

    old = signal.signal(signal.SIGTERM, handler)
    yield
    signal.signal(signal.SIGTERM, old)


def test_outdir_signal_while_writing_leaves_the_previous_folder(tmp_path, monkeypatch, sigterm_raises):
    out = previous(tmp_path)
    real_open = open

    def open_and_signal(f, *a, **k):
        if str(f).endswith("forecast.csv") and ".planner-tmp-" in str(f):
            os.kill(os.getpid(), signal.SIGTERM)  # held by write_folder until the folders are consistent
        return real_open(f, *a, **k)

    monkeypatch.setattr("builtins.open", open_and_signal)
    with pytest.raises(Interrupted):
        outdir.write_folder(out, FILES)
    assert contents(out) == OLD
    only_out(tmp_path)


def test_outdir_signal_during_the_swap_finishes_it_first(tmp_path, monkeypatch, sigterm_raises):
    out = previous(tmp_path)
    real_exchange = outdir._exchange

    def exchange_and_signal(a, b):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_exchange(a, b)

    monkeypatch.setattr(outdir, "_exchange", exchange_and_signal)
    with pytest.raises(Interrupted):
        outdir.write_folder(out, FILES)
    assert contents(out) == FILES  # the complete new folder, nothing of the old one
    only_out(tmp_path)


def test_outdir_two_runs_into_one_folder_never_mix(tmp_path, monkeypatch):
    """Run B starts and finishes while run A is between writing and swapping: the last swap wins whole."""
    out = previous(tmp_path)
    other = {name: f"run B {name}" for name in FILES}
    real_replace = outdir._replace
    nested = []

    def replace_after_another_run(tmp, target):
        if not nested:
            nested.append(True)
            real_write = outdir.write_folder
            real_write(target, other)  # B, complete, inside A's window
            assert contents(target) == other
        return real_replace(tmp, target)

    monkeypatch.setattr(outdir, "_replace", replace_after_another_run)
    outdir.write_folder(out, FILES)
    assert contents(out) == FILES
    only_out(tmp_path)


def test_forecast_out_problems_fail_before_the_forecast(tmp_path, capsys, monkeypatch):
    """`--out` is checked before any forecasting: the forecast is never built for a bad target."""
    from planner import service

    monkeypatch.setattr(service, "build_forecast", lambda plan: pytest.fail("forecast built for a bad --out"))
    plan = Path(__file__).resolve().parents[1] / "examples" / "internal-tool.yaml"
    target = tmp_path / "out"
    target.write_text("not a folder")
    assert run(["forecast", str(plan), "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {target}: is a file, not a folder; give a folder for --out"


CHILD = """
import builtins, os, signal, sys
from planner import outdir
real_open = builtins.open
def open_and_signal(f, *a, **k):
    if str(f).endswith("forecast.csv") and ".planner-tmp-" in str(f):
        os.kill(os.getpid(), signal.{signal})
    return real_open(f, *a, **k)
builtins.open = open_and_signal
outdir.write_folder(sys.argv[1], {{"report.md": "new", "report.html": "new", "forecast.csv": "new", "forecast.json": "new"}})
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_outdir_a_killed_run_leaves_the_previous_folder_and_no_temporary_one(tmp_path, signame):
    """With the default disposition the signal ends the process: only after the temporary folder is gone."""
    import subprocess
    import sys

    out = previous(tmp_path)
    child = subprocess.run([sys.executable, "-c", CHILD.format(signal=signame), str(out)],
                           cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=60)
    assert child.returncode == -getattr(signal, signame), child.stderr
    assert contents(out) == OLD
    only_out(tmp_path)
