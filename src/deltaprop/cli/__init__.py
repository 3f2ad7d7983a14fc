"""The ``deltaprop`` command: train, evaluate, predict, summary, explain, descent, exercise,
playground.

One module a command (:mod:`.train`, :mod:`.evaluate`, :mod:`.predict`, :mod:`.summary`,
:mod:`.explain`, :mod:`.exercise`), each with its ``add_parser(sub)`` and its ``cmd_*(args)``;
what they share is in :mod:`.common` (errors, argument types), :mod:`.data` (the data argument),
:mod:`.rundir` (a run's directory) and :mod:`.output` (files written for the user).

Every error a user can cause (a bad CSV, a missing column, a model file that does not
fit the data, an option that does not apply) ends in one line on stderr and exit status 2,
never a traceback; an interrupted ``train`` exits with 130 and keeps the previous model.

The data set is always the first argument after the command (``deltaprop train iris.csv``,
``deltaprop evaluate MODEL iris.csv``, ``deltaprop predict MODEL rows.csv``); the model
file records where its training rows came from (the data set's fingerprint and the split),
so that ``evaluate`` scores exactly the held-out rows and ``predict`` matches columns by
name.
"""

from __future__ import annotations

import os
import re
import sys
import warnings

import numpy as np

from . import evaluate, exercise, explain, export, predict, summary, train
from .common import CLIError, Parser, one_line, version

__all__ = ["CLIError", "build_parser", "main"]


def build_parser():
    parser = Parser(
        prog="deltaprop", allow_abbrev=False,
        description="Feed-forward neural networks with exact, explainable backpropagation.")
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in (train, evaluate, predict, export, summary, explain, exercise):
        command.add_parser(sub)
    from ..playground import cli as playground_cli  # argparse only; the server loads in run

    playground_cli.add_parser(sub)
    for command in sub.choices.values():
        command.allow_abbrev = False  # --dat is not --data-dir
    return parser


def _playground(args):
    from ..playground import cli as playground_cli  # Starlette and uvicorn load here only

    return playground_cli.run(args)


COMMANDS = {"train": train.cmd_train, "evaluate": evaluate.cmd_evaluate,
            "predict": predict.cmd_predict, "export": export.cmd_export,
            "summary": summary.cmd_summary,
            "explain": explain.cmd_explain, "descent": explain.cmd_descent,
            "exercise": exercise.cmd_exercise, "playground": _playground}

_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d)")


def _attach_negative_values(argv):
    """``--start -2.5,2`` as ``--start=-2.5,2``: argparse would read a value that starts
    with a minus sign (and is not a plain number) as an option."""
    out = []
    for token in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1]
                and _NEGATIVE_VALUE.match(token)):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv=None):
    from ..datasets import DatasetError
    from ..devices import DeviceError
    from ..io import ModelFileError
    from ..training import TrainingDiverged

    expected = (CLIError, DatasetError, DeviceError, ModelFileError, TrainingDiverged, ValueError,
                TypeError, OSError, MemoryError)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(_attach_negative_values(argv))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # NumPy's warnings (overflow in a diverging run...) would print source lines
            # before the one-line error that the command gives for the same cause.
            warnings.simplefilter("ignore", RuntimeWarning)
            code = COMMANDS[args.command](args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `deltaprop summary M | head -3`: the reader left; end quietly (Python's advice:
        # point stdout at devnull so that the interpreter's final flush does not fail too).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except expected as exc:
        if os.environ.get("DELTAPROP_DEBUG"):  # show the traceback when debugging
            raise
        print(f"deltaprop {args.command}: error: {one_line(exc)}", file=sys.stderr)
        from ..distributed import abort_world

        abort_world(2)  # one of several MPI processes: end them all, none waits forever
        return 2
    except KeyboardInterrupt:
        print(f"deltaprop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
