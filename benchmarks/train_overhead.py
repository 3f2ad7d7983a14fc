"""``deltaprop train`` on small raw tables: wall time of two source trees, and whether the
saved weights are the same bit for bit.

Each table of ``benchmarks/tabular.py`` (written as it ships, split with seed 0) is trained
with that benchmark's arguments (``train train.csv --target T``, the default seed 0) by each
source tree in turn, ``--runs`` times, in a fresh process, output to a pipe; prints the
median wall time and the command's own "N epochs in S" of each, and compares every array of
the two ``model.npz`` files (weights, optimizer-free) with ``np.array_equal`` on the bytes.

Run: ``python benchmarks/train_overhead.py BEFORE_SRC AFTER_SRC [--tables a,b] [--runs 3]``
(each ``*_SRC`` a directory holding the ``deltaprop`` package).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from tabular import TABLES, write_split


def train(src, directory, target, out):
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "deltaprop", "train", "train.csv", "--target",
                           target, "--out", str(out)], cwd=directory, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("test: ")][-1]
    return wall, line.split("(")[-1].rstrip(")")


def same_arrays(a, b):
    with np.load(a, allow_pickle=False) as fa, np.load(b, allow_pickle=False) as fb:
        if sorted(fa.files) != sorted(fb.files):
            return False
        return all(fa[k].dtype == fb[k].dtype and fa[k].shape == fb[k].shape
                   and fa[k].tobytes() == fb[k].tobytes() for k in fa.files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--tables", default="penguins,mpg,msleep")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tables.split(","):
            directory = Path(tmp) / name
            directory.mkdir()
            write_split(name, directory)
            walls = {"before": [], "after": []}
            fits = {"before": [], "after": []}
            for run in range(args.runs):  # interleaved: the machine's load falls on both
                for which in ("before", "after"):
                    wall, fit = train(getattr(args, which), directory, TABLES[name][1],
                                      directory / f"{which}{run}")
                    walls[which].append(wall)
                    fits[which].append(fit)
            same = all(same_arrays(directory / f"before{r}" / "model.npz",
                                   directory / f"after{r}" / "model.npz")
                       for r in range(args.runs))
            print(f"{name:10s} before {statistics.median(walls['before']):5.2f} s "
                  f"({fits['before'][0]})   after {statistics.median(walls['after']):5.2f} s "
                  f"({fits['after'][0]})   weights identical: {same}", flush=True)


if __name__ == "__main__":
    main()
