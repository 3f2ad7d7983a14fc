"""Files the commands write for the user (predictions, traces, answer keys, run records).

A file is written as the model files are, by :func:`deltaprop.io.write_atomically`: into
a temporary file beside it, flushed to the disk and renamed over it at the end, so that an
error or a Ctrl-C midway leaves any earlier file whole; a new file gets the mode the umask
gives, an existing one keeps its mode. A path that is a symbolic link is written through:
the link's target gets the new content and the link stays (as the shell's ``>`` does).
"""

from __future__ import annotations

import csv

from ..io import ModelFileError, write_atomically
from .common import CLIError


def write_csv(path, columns, rows):
    """Write a CSV file (a header row ``columns``, then ``rows``) at ``path`` atomically.

    Raises
    ------
    CLIError
        In one line naming ``path``: a directory, a directory that does not exist, no
        permission, a full disk.
    """
    def write(f):
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)

    _write(path, write)


def write_text(path, text):
    """Write ``text`` (UTF-8) at ``path`` atomically; errors as :func:`write_csv`'s."""
    _write(path, lambda f: f.write(text))


def _write(path, write):
    try:
        write_atomically(path, write, text=True)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
