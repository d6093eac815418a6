"""Files the application writes: readable by their owner only, and never through a link.

The database holds who issued which card where; its backups, the demo accounts' passwords
and the keys are as private. A new file is created 0600 from its first byte (O_CREAT with
the mode, not a chmod afterwards), and a path that is a symbolic link, dangling or not, is
refused rather than followed (O_NOFOLLOW / O_EXCL).
"""
from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, which has no such links by default


class UnsafePath(Exception):
    """A path the application will not open: a symbolic link, or not a regular file."""


def refuse_link(path: Path) -> None:
    """UnsafePath if `path` itself is a symbolic link (its folders may be links)."""
    if path.is_symlink():
        raise UnsafePath(f"{path} is a symbolic link: give the file itself")


def private_folder(path: Path) -> None:
    """Create a folder (and its parents) readable by the owner only; an existing one is kept."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def create_private(path: Path) -> None:
    """Create `path` as a new empty file 0600; FileExistsError if anything (a link too) is there."""
    refuse_link(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, PRIVATE_FILE))


def ensure_private(path: Path) -> None:
    """Create `path` 0600 if it is missing; refuse a link; leave an existing file as it is."""
    refuse_link(path)
    with suppress(FileExistsError):
        create_private(path)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, which is (re)created 0600; a link there is refused."""
    refuse_link(path)
    path.unlink(missing_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, PRIVATE_FILE)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)


def regular_file(path: Path) -> None:
    """UnsafePath unless `path` is a regular file and no link."""
    refuse_link(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise UnsafePath(f"{path} does not exist") from None
    if not stat.S_ISREG(mode):
        raise UnsafePath(f"{path} is not a regular file")


def sqlite_read_only_uri(path: Path) -> str:
    """A `file:` URI that opens exactly `path` read-only: '#', '?' and '%' in the name are
    escaped (an f-string URI cut "odd#intended.db" to "odd" and read %41 as "A")."""
    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"
