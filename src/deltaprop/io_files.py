"""The temporary files of atomic writes (:func:`deltaprop.io.write_atomically`): their
names, and removing those that a killed writer left.

A file is written as ``.{name}.{pid}.{random}.tmp`` beside its target ``name`` and renamed
over it at the end; a writer killed midway (``kill -9``, a power cut) leaves that file
behind. The next write to the same target removes it, once its process is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import time
from pathlib import Path

__all__ = ["STALE_TMP_AGE", "TMP_SUFFIX", "remove_stale_temporaries", "temporary_path",
           "tmp_pattern"]

#: A temporary file of a killed write is removed only when its writer is gone, or, for
#: names without a process id (older deltaprop), when it is older than this (seconds).
STALE_TMP_AGE = 60.0
TMP_SUFFIX = ".tmp"


def temporary_path(directory, name):
    """A new temporary name for the target ``name`` in ``directory``:
    ``.{name}.{pid}.{16 hex digits}.tmp``."""
    return Path(directory) / f".{name}.{os.getpid()}.{secrets.token_hex(8)}{TMP_SUFFIX}"


def tmp_pattern(name):
    """Our temporary names for the target ``name``: ``.{name}.{pid}.{hex}.tmp``, and the
    ``.{name}.{random}.tmp`` of older versions (no pid)."""
    return re.compile(rf"\.{re.escape(name)}\.(?:(?P<pid>[0-9]+)\.[0-9a-f]{{16}}|[a-z0-9_]{{8}})"
                      rf"{re.escape(TMP_SUFFIX)}")


def _pid_alive(pid):
    if os.name == "nt":  # os.kill(pid, 0) would not be a harmless probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process (or an unusable pid): keep its file
    return True


def remove_stale_temporaries(directory, name):
    """Remove the temporary files that killed writes to ``directory/name`` left: ours only
    (the name pattern, regular files), and only when their process is gone (or, for names
    without a pid, when older than :data:`STALE_TMP_AGE`)."""
    pattern = tmp_pattern(name)
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            pid = match.group("pid")
            if pid is not None:
                if int(pid) == os.getpid() or _pid_alive(int(pid)):
                    continue
            elif now - st.st_mtime < STALE_TMP_AGE:
                continue
            os.unlink(entry.path)
        except OSError:
            pass  # gone already, or not ours to remove
