"""Reading a file a user names, as untrusted input: one guard for plans, price snapshots and
forecast files.

`read_text(path, what=..., max_bytes=...)` returns the file's text or raises `FileRejected`
(a one-line reason, the file's name and, where there is one, the line):

- `~` is expanded (`user_path`), the same for every path a user gives;
- regular files only: a FIFO, a device (`/dev/zero`), a socket or a folder is refused without
  reading from it (the file is opened non-blocking, so a FIFO never blocks);
- at most `max_bytes` are read, whatever the file claims to hold;
- UTF-8 only (a leading byte-order mark is dropped); UTF-16/32, NUL bytes and other encodings
  (latin-1...) are refused, naming the line of the first bad byte.

This module imports nothing from `planner` (pricing must not need it); planner's reader calls it
and turns `FileRejected` into its own `UserError`.
"""

from __future__ import annotations

import errno
import os
import reprlib
import stat
from pathlib import Path

MIB = 1024 * 1024
QUOTE_CHARS = 80  # an error message quotes at most this much of a value

_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"


class FileRejected(Exception):
    """A file that cannot be read as what it should be; `message` is one line."""

    def __init__(self, message: str, *, file: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line


def user_path(path: str | os.PathLike[str]) -> Path:
    """A path as the user means it: `~` and `~user` expanded (nothing else)."""
    return Path(path).expanduser()


def shorten(value: object, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` cut to about `limit` characters, in time and memory bounded by `limit`.

    Safe on what an attacker can put in a YAML or CSV file: huge strings, deeply nested or
    alias-shared lists, integers with thousands of digits.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 2, 4, 4, 4, 4
    r.maxstring = r.maxother = max(limit, 12)
    r.maxlong = 40
    try:
        text = r.repr(value)
    except Exception:  # a value whose repr fails is named by its type
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def umask_mode(mode: int) -> int:
    """`mode` less the process umask: what `open`/`mkdir` would give a new file or folder
    (`mkstemp`/`mkdtemp` give 0600/0700, too private for a user's output)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mode & ~mask


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """Plain text on one line, cut to `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def kind_of(mode: int) -> str:
    """What a file system entry is, for one-line messages ("is a FIFO (named pipe), not a plan file")."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a file"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file or folder"


def read_bytes(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; `FileRejected` otherwise."""
    p = user_path(path)
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise FileRejected("no such file", file=name) from None
        if exc.errno == errno.EISDIR:
            raise FileRejected(f"is a folder, not a {what}", file=name) from None
        raise FileRejected(f"cannot read it: {exc.strerror or exc}", file=name) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRejected(f"is {kind_of(st.st_mode)}, not a {what}", file=name)
        if st.st_size > max_bytes:
            raise FileRejected(f"is {_size(st.st_size)}; a {what} is at most {_size(max_bytes)}", file=name)
        chunks, total = [], 0
        while total <= max_bytes:
            try:
                chunk = os.read(fd, min(MIB, max_bytes + 1 - total))
            except BlockingIOError:  # not for regular files, but never spin
                break
            except OSError as exc:
                raise FileRejected(f"cannot read it: {exc.strerror or exc}", file=name) from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while we read it
            raise FileRejected(f"is more than {_size(max_bytes)}; a {what} is at most {_size(max_bytes)}",
                               file=name)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_utf8(data: bytes, *, what: str, file: str) -> str:
    """UTF-8 text (a leading BOM dropped); `FileRejected` naming the line of the first bad byte."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    elif data.startswith(_UTF16_32_BOMS):
        raise FileRejected(f"is UTF-16 or UTF-32 text (as PowerShell and Notepad may save it); save the "
                           f"{what} as UTF-8", file=file)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FileRejected(f"holds NUL bytes (a binary file, or UTF-16 without a byte-order mark), not a "
                           f"UTF-8 {what}", file=file, line=data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        raise FileRejected(f"is not UTF-8 (byte 0x{byte:02x} on this line; latin-1 or Windows-1252?): save "
                           f"the {what} as UTF-8", file=file, line=line) from None


def read_text(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes` (see the module docstring)."""
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    return decode_utf8(data, what=what, file=str(path))
