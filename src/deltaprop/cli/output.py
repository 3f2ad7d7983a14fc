"""Files the commands write for the user (predictions, traces).

A file is written as the model files are (:func:`deltaprop.io.save`): into a temporary
file beside it, renamed over it at the end, so that an error midway leaves any earlier
file whole; a new file gets the mode the umask gives, an existing one keeps its mode. A
path that is a symbolic link is written through: the link's target gets the new content
and the link stays (as the shell's ``>`` does).
"""

from __future__ import annotations

import csv
import os
import secrets
import stat
from pathlib import Path

from .common import CLIError


def _target(path):
    """The file to replace for ``path``: itself, or the file its symbolic link names."""
    path = Path(path)
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def write_atomically(path, columns, rows):
    """Write a CSV file (a header row ``columns``, then ``rows``) at ``path`` atomically.

    Raises
    ------
    CLIError
        In one line naming ``path``: a directory, a directory that does not exist, no
        permission.
    """
    path = Path(path)
    target = _target(path)
    shown = str(path) if target == path else f"{path} (a link to {target})"
    if target.is_dir():
        raise CLIError(f"cannot write {shown}: it is a directory; name a file")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise CLIError(f"cannot write {shown}: the directory {directory} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None  # a new file: the umask decides, as for any file the user creates
    tmp = directory / f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise CLIError(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", newline="") as f:
            if mode is not None:
                os.chmod(f.fileno(), mode)
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(rows)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CLIError(f"cannot write {shown}: {exc.strerror or exc}") from None
        raise
