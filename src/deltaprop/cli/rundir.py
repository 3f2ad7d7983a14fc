"""A run's directory: checked before training, its ``run.json`` record, and ``--resume``.

A directory that holds an interrupted run (``checkpoint.npz`` and ``run.json``) is that
run's resume record: a new run into it is refused (continue it with ``--resume``, choose
another ``--out``, or give ``--overwrite`` to discard it), before anything there is
written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import CLIError

RESUMABLE = ("epochs", "quiet", "json", "device")
#: Options that are about this call, not about the run: never recorded in ``run.json``.
NOT_RECORDED = ("command", "resume", "overwrite")
CHECKPOINT, RECORD, MODEL = "checkpoint.npz", "run.json", "model.npz"


def interrupted_run(directory):
    """Whether ``directory`` holds an interrupted run that ``--resume`` can continue."""
    directory = Path(directory)
    return (directory / CHECKPOINT).is_file() and (directory / RECORD).is_file()


def prepare_output_dir(directory, args=None):
    """Make sure the run's files can be written in ``directory`` before any training time
    is spent (:func:`deltaprop.io.check_writable`), then create it.

    With ``args`` (the run's options), a new run (no ``--resume``) into a directory that
    holds an interrupted run is refused unless ``--overwrite`` is given; then the run's
    ``run.json`` is written, and with ``--overwrite`` the interrupted run's
    ``checkpoint.npz`` is removed (a stale checkpoint would not fit the new record)."""
    from ..io import ModelFileError, check_writable, write_atomically

    directory = Path(directory)
    new_run = args is not None and not getattr(args, "resume", None)
    if new_run and interrupted_run(directory) and not getattr(args, "overwrite", False):
        raise CLIError(f"{directory} holds an interrupted run ({CHECKPOINT} and {RECORD}): "
                       f"continue it with 'deltaprop train --resume {directory}', choose "
                       f"another --out, or add --overwrite to discard it")
    try:
        check_writable(directory / MODEL)
        directory.mkdir(parents=True, exist_ok=True)
        if args is not None:
            write_atomically(directory / RECORD,
                             lambda f: f.write(json.dumps(run_record(args), indent=1)), text=True)
        if new_run:
            (directory / CHECKPOINT).unlink(missing_ok=True)
    except (ModelFileError, OSError) as exc:
        raise CLIError(f"cannot write to the output directory {directory}: "
                       f"{getattr(exc, 'strerror', None) or exc}")


def interrupted_message(directory, epoch):
    """The line ``train`` prints when Ctrl-C stopped it after ``epoch`` epochs and the
    run was saved in ``directory/checkpoint.npz``."""
    directory = Path(directory)
    model = directory / MODEL
    kept = f"{model} is unchanged; " if model.exists() else ""  # an earlier run's
    return (f"deltaprop train: interrupted after epoch {epoch}: {kept}the run is saved in "
            f"{directory / CHECKPOINT}; continue it with: deltaprop train --resume {directory}")


def run_record(args):
    return {k: v for k, v in vars(args).items() if k not in NOT_RECORDED}


def resume_args(args, defaults):
    """The interrupted run's options from ``DIR/run.json``, with ``--epochs`` and the
    output options of this call; ``defaults`` are ``train``'s options when none is given."""
    directory = Path(args.resume)
    record_path, checkpoint = directory / RECORD, directory / CHECKPOINT
    if not interrupted_run(directory):
        raise CLIError(f"--resume {directory}: no interrupted run there (expected "
                       f"{CHECKPOINT} and {RECORD})")
    extra = [k for k, v in vars(args).items()
             if k not in (*RESUMABLE, *NOT_RECORDED) and v != getattr(defaults, k)]
    if getattr(args, "overwrite", False):
        extra.append("overwrite")
    if extra:
        raise CLIError(f"--resume takes the run's options from {record_path}; only "
                       f"{', '.join('--' + k for k in RESUMABLE)} may be given, not "
                       f"{', '.join('--' + k.replace('_', '-') for k in extra)}")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as exc:
        raise CLIError(f"{record_path} cannot be read: {exc}")
    if not isinstance(record, dict):
        raise CLIError(f"{record_path} is not a run record (a JSON object of options)")
    record = {k: v for k, v in record.items() if k not in NOT_RECORDED}
    resumed = argparse.Namespace(**{**vars(defaults), **record})
    resumed.out = str(directory)
    resumed.resume = str(directory)
    for k in RESUMABLE:
        if getattr(args, k) != getattr(defaults, k):
            setattr(resumed, k, getattr(args, k))
    return resumed, checkpoint
