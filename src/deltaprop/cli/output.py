"""Files the commands write for the user (predictions, traces)."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path


def write_atomically(path, columns, rows):
    """A CSV file written beside ``path`` and renamed over it: an error midway leaves
    any earlier file whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
