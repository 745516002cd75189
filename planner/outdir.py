"""Output folders that lose nothing: `write_folder(out_dir, files)`.

Everything is written into one temporary folder beside the target, which then replaces the target
in one step:

- a new target: one `rename` of the temporary folder;
- an existing target: an atomic exchange of the two folders (Linux `renameat2(RENAME_EXCHANGE)`),
  then the previous folder (now the temporary one) is deleted. Where the exchange is not available
  the previous folder is renamed aside first and renamed back if the new one cannot take its place.

So a failed or interrupted run leaves the previous folder as it was (or, once the exchange has
happened, the complete new one) and no temporary folder behind; two runs into the same folder
never mix files, the last to finish wins whole. SIGINT, SIGTERM and SIGHUP are held while the
files are written and the folders swapped (a few milliseconds: the files are rendered before):
one that arrives before the swap cancels it and leaves the target untouched; any that arrived is
delivered once the folders are consistent.

The target is replaced whole, so it may hold only the files of this run (a previous run's): a
folder holding anything else — a file of the user's, a subfolder, a link — is refused with one
line, never emptied. `--out` at a file, a device, a link, a folder that does not exist, a read-only
place or a name too long is one line too (`UserError`, exit 2).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from planner.errors import UserError
from pricing.files import clip, kind_of, umask_mode, user_path

_HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_TMP_TAG = ".planner-tmp-"
_OLD_TAG = ".planner-old-"


def _fail(out_dir: str | os.PathLike[str], message: str) -> UserError:
    return UserError(message, file=str(out_dir))


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_target(out_dir: str | os.PathLike[str], names: Iterable[str]) -> Path:
    """The target folder (`~` expanded) if a folder holding `names` can replace it; else `UserError`.

    Cheap: callers run it before a long computation so a bad `--out` fails at once.
    """
    names = set(names)
    out = user_path(out_dir)
    if out.name in ("", ".", ".."):
        raise _fail(out_dir, "give the output folder a name of its own (it is replaced whole)")
    parent = out.parent
    if len(os.fsencode(out.name)) > _name_max(parent if parent.is_dir() else Path(".")):
        raise _fail(out_dir, f"the folder name is {len(os.fsencode(out.name))} bytes long, more than this "
                             "file system allows; give a shorter --out")
    try:
        parent_mode = os.stat(parent).st_mode
    except FileNotFoundError:
        raise _fail(out_dir, f"the folder {clip(str(parent))} does not exist; create it first or give "
                             "another --out") from None
    except OSError as exc:
        raise _fail(out_dir, f"cannot use the folder {clip(str(parent))}: {exc.strerror}") from None
    if not stat.S_ISDIR(parent_mode):
        raise _fail(out_dir, f"{clip(str(parent))} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _fail(out_dir, f"cannot write in {clip(str(parent))}: permission denied")
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise _fail(out_dir, f"cannot use it as the output folder: {exc.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise _fail(out_dir, f"is {kind_of(mode)}, not a folder; give a folder for --out")
    if not os.access(out, os.W_OK | os.X_OK):  # a read-only folder is the user's way of saying "keep it"
        raise _fail(out_dir, f"cannot write into {clip(str(out))}: permission denied")
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError as exc:
        raise _fail(out_dir, f"cannot read the folder: {exc.strerror}") from None
    foreign = [e.name for e in entries if e.name not in names or not e.is_file(follow_symlinks=False)]
    if foreign:
        shown = ", ".join(clip(n, 40) for n in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise _fail(out_dir, f"holds {shown}, which this command did not write; the folder is replaced "
                             f"whole, so give a new or empty folder, or one holding only "
                             f"{', '.join(sorted(names))}")
    return out


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM/SIGHUP instead of acting on them; deliver them on the way out."""
    received: list[int] = []
    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _HELD_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                previous[signum] = signal.signal(signum, lambda s, _f: received.append(s))
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)  # to the handler the process had: KeyboardInterrupt, exit...


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where not supported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace(tmp: Path, out: Path) -> Path | None:
    """Put `tmp` at `out`; return where the previous folder now is (to delete), or None."""
    try:
        os.rename(tmp, out)  # a new target (or an empty one) in one step
        return None
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    if _exchange(tmp, out):
        return tmp  # tmp now holds the previous folder
    old = Path(tempfile.mkdtemp(prefix=f".{out.name[:40]}{_OLD_TAG}", dir=out.parent))
    os.rename(out, old)  # onto the empty placeholder: the previous folder is kept until the new one is in place
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    return old


def write_folder(out_dir: str | os.PathLike[str], files: dict[str, str]) -> list[Path]:
    """Write `files` (name -> UTF-8 text) as the whole content of `out_dir`, replacing it in one step.

    Returns the paths written (under `out_dir` as given, `~` expanded). Raises `UserError` (exit 2)
    for a target that cannot be used or written; see the module docstring for what is guaranteed.
    """
    out = check_target(out_dir, files)
    with _signals_held() as received:
        tmp: Path | None = None
        old: Path | None = None
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:40]}{_TMP_TAG}", dir=out.parent))
            os.chmod(tmp, umask_mode(0o777))  # a folder like any mkdir gives, not mkdtemp's 0700
            for name, text in files.items():
                with open(tmp / name, "x", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            if received:  # interrupted before the swap: the target stays as it was
                raise UserError("interrupted; the output folder was left as it was", file=str(out_dir))
            old = _replace(tmp, out)
            if old is None:
                tmp = None
        except OSError as exc:
            raise _fail(out_dir, f"cannot write the output folder: {exc.strerror or exc}") from None
        finally:
            for leftover in (tmp, old):
                if leftover is not None and leftover.exists():
                    shutil.rmtree(leftover, ignore_errors=True)
    return [out / name for name in files]
