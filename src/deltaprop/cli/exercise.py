"""``deltaprop exercise``: set a backpropagation exercise (``new``), mark a hand calculation
(``check``), fill an answer file with the key (``key``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import CLIError, non_negative_int, positive_int, same_file
from .output import write_text

EXAMPLES = """\
examples:
  deltaprop exercise new -o hw1                                  # 2-2-1, ReLU, identity, ½(t - y)²
  deltaprop exercise new --network 2-3-2 --activation sigmoid --notation nielsen --seed 7 -o hw2
  deltaprop exercise new --network 2-2-3 --output softmax --batch 2 --students 30 -o class
  deltaprop exercise check hw1 hw1/answers.json                  # exit 0: all right, 1: not
  deltaprop exercise check hw1 answers.json --json               # for a gradebook
  deltaprop exercise key hw1 -o filled.json                      # the key as an answer file
"""


def add_parser(sub):
    from ..exercises.draw import LOSSES, NOTATION_NAMES, OUTPUTS

    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "exercise", help="set a backpropagation exercise, mark a hand calculation",
        epilog=EXAMPLES, formatter_class=fmt,
        description="Exercises for backpropagation by hand: a sheet with numbers made for "
                    "hand work, its key (the engine's own numbers) and an answer file (new); "
                    "a verdict for every answer, with errors carried forward and the classic "
                    "slips named (check); the key as an answer file (key).")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    new = actions.add_parser("new", help="write a sheet, its key and a blank answer file",
                             epilog=EXAMPLES, formatter_class=fmt)
    new.add_argument("--network", default="2-2-1",
                     help="layer sizes: inputs-hidden-...-outputs (default 2-2-1)")
    new.add_argument("--activation", default="relu",
                     help="hidden activation: relu, sigmoid, tanh, ... (default relu)")
    new.add_argument("--output", choices=OUTPUTS, default="identity",
                     help="output activation (default identity)")
    new.add_argument("--loss", choices=LOSSES, default=None,
                     help="default: half_squared_error (identity, sigmoid), cross_entropy "
                          "(softmax)")
    new.add_argument("--notation", choices=NOTATION_NAMES, default="goodfellow")
    new.add_argument("--batch", type=positive_int, default=1, help="samples (default 1)")
    new.add_argument("--seed", type=non_negative_int, default=0,
                     help="every seed gives another problem of the same kind (default 0)")
    new.add_argument("--students", type=positive_int, default=None,
                     help="one exercise a student (seeds SEED to SEED+N-1) in DIR/studentNN, "
                          "and a class key")
    new.add_argument("--allow-inactive", action="store_true",
                     help="allow a hidden unit inactive for every sample")
    new.add_argument("--force", action="store_true", help="overwrite the files in DIR")
    new.add_argument("-o", "--output-dir", "--out", dest="out", required=True, metavar="DIR")

    chk = actions.add_parser("check", help="mark an answer file, step by step")
    chk.add_argument("exercise", metavar="DIR", help="the exercise's directory (or its "
                                                     "exercise.json)")
    chk.add_argument("answers", metavar="ANSWERS.json")
    chk.add_argument("--json", action="store_true", help="the marking as JSON")

    key = actions.add_parser("key", help="the answer file filled with the key")
    key.add_argument("exercise", metavar="DIR")
    key.add_argument("-o", "--output", dest="out", metavar="FILE",
                     help="file to write (default: standard output)")
    key.add_argument("--force", action="store_true", help="overwrite FILE")
    for parser in (new, chk, key):
        parser.allow_abbrev = False


def cmd_exercise(args):
    return {"new": _new, "check": _check, "key": _key}[args.action](args)


def _new(args):
    from .. import exercises
    from ..exercises.exercise import new_class, write_class

    setting = dict(network=args.network, activation=args.activation, output=args.output,
                   loss=args.loss, notation=args.notation, batch=args.batch,
                   allow_inactive=args.allow_inactive)
    out = Path(args.out)
    if args.students:
        group = new_class(args.students, seed=args.seed, **setting)
        write_class(out, group, force=args.force)
        first = group[0]
        print(f"{len(group)} exercises ({_describe(first)}, seeds {args.seed} to "
              f"{args.seed + len(group) - 1}): {out}/student01 ... "
              f"{out}/student{len(group):02d}, class key {out}/class_key.md and .tex")
        return 0
    ex = exercises.new(seed=args.seed, **setting)
    paths = ex.write(out, force=args.force)
    print(f"exercise {ex.id} ({_describe(ex)}, seed {args.seed}): wrote "
          f"{', '.join(p.name for p in paths)} in {out}")
    return 0


def _describe(ex):
    spec = ex.spec
    return (f"{'-'.join(map(str, spec.sizes))}, {'/'.join(spec.activations)}, {spec.loss}, "
            f"{ex.notation}, N = {len(spec.X)}")


def _check(args):
    from .. import exercises

    marking = exercises.check(args.exercise, args.answers)
    if args.json:
        print(json.dumps(marking.to_dict(), indent=1, ensure_ascii=False))
    else:
        print(marking)
    return 0 if marking.passed else 1


def _key(args):
    from .. import exercises
    from ..exercises.exercise import answers_json

    ex = exercises.load(args.exercise)
    text = answers_json(ex.key_answers())
    if not args.out:
        sys.stdout.write(text)
        return 0
    source = Path(args.exercise)
    spec_file = source / "exercise.json" if source.is_dir() else source
    if same_file(args.out, spec_file):
        raise CLIError(f"-o {args.out} would overwrite the exercise itself; choose another file")
    if Path(args.out).exists() and not args.force:
        raise CLIError(f"-o {args.out} exists (a student's answers?); choose another file or "
                       f"add --force")
    write_text(args.out, text)
    print(f"wrote {args.out}: the key of exercise {ex.id} as an answer file", file=sys.stderr)
    return 0
