"""A run's directory: checked before training, its ``run.json`` record, and ``--resume``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import CLIError

RESUMABLE = ("epochs", "quiet", "json", "device")


def prepare_output_dir(directory):
    """Make sure the run's files can be written in ``directory`` before any training time
    is spent (:func:`deltaprop.io.check_writable`), then create it."""
    from ..io import ModelFileError, check_writable

    try:
        check_writable(directory / "model.npz")
        directory.mkdir(parents=True, exist_ok=True)
    except (ModelFileError, OSError) as exc:
        raise CLIError(f"cannot write to the output directory {directory}: "
                       f"{getattr(exc, 'strerror', None) or exc}")


def run_record(args):
    return {k: v for k, v in vars(args).items() if k not in ("command", "resume")}


def resume_args(args, defaults):
    """The interrupted run's options from ``DIR/run.json``, with ``--epochs`` and the
    output options of this call; ``defaults`` are ``train``'s options when none is given."""
    directory = Path(args.resume)
    record_path, checkpoint = directory / "run.json", directory / "checkpoint.npz"
    if not checkpoint.is_file() or not record_path.is_file():
        raise CLIError(f"--resume {directory}: no interrupted run there (expected "
                       f"checkpoint.npz and run.json)")
    extra = [k for k, v in vars(args).items()
             if k not in (*RESUMABLE, "command", "resume") and v != getattr(defaults, k)]
    if extra:
        raise CLIError(f"--resume takes the run's options from {record_path}; only "
                       f"{', '.join('--' + k for k in RESUMABLE)} may be given, not "
                       f"{', '.join('--' + k.replace('_', '-') for k in extra)}")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as exc:
        raise CLIError(f"{record_path} cannot be read: {exc}")
    resumed = argparse.Namespace(**{**vars(defaults), **record})
    resumed.out = str(directory)
    for k in RESUMABLE:
        if getattr(args, k) != getattr(defaults, k):
            setattr(resumed, k, getattr(args, k))
    return resumed, checkpoint
