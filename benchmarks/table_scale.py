"""The cost of a large raw table: read, fit the encoder, encode.

Writes (once) a synthetic CSV of ``--rows`` rows (default 1,000,000): two numbers with
gaps, two categories (5 and 200 levels, with gaps), a yes/no column and a numeric target;
then times ``load_csv``, ``TableEncoder.fit_transform`` and ``TableEncoder.transform`` of
the same table separately, and prints a digest of the encoded matrix (to compare runs
before and after a change: it must not move).

Run: ``python benchmarks/table_scale.py [--rows N] [--csv PATH] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows).round(4).astype(str)
    x1[rng.random(rows) < 0.05] = ""
    x2 = (rng.gamma(2.0, 3.0, size=rows)).round(2).astype(str)
    x2[rng.random(rows) < 0.02] = "NA"
    colour = np.array(["red", "green", "blue", "amber", "violet"])[rng.integers(0, 5, rows)]
    colour[rng.random(rows) < 0.01] = ""
    town = np.char.add("town_", rng.integers(0, 200, rows).astype(str))
    town[rng.random(rows) < 0.01] = "n/a"
    member = np.array(["yes", "no"])[rng.integers(0, 2, rows)]
    y = rng.normal(size=rows).round(3).astype(str)
    with open(path, "w") as f:
        f.write("x1,x2,colour,town,member,y\n")
        f.writelines(",".join(row) + "\n" for row in zip(x1, x2, colour, town, member, y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv", default="/tmp/deltaprop_table_scale.csv")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    from deltaprop.datasets.csvfile import load_csv
    from deltaprop.datasets.encoding import TableEncoder

    path = Path(args.csv)
    if not path.exists():
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {path} ({args.rows:,} rows) in {time.perf_counter() - t0:.1f} s")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        table = load_csv(path)
        t1 = time.perf_counter()
        features = table.select([n for n in table.names if n != "y"])
        encoder = TableEncoder()
        X = encoder.fit_transform(features)
        t2 = time.perf_counter()
        X2 = encoder.transform(features)
        t3 = time.perf_counter()
        assert np.array_equal(X, X2)
        digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:16]
        print(f"read {t1 - t0:6.2f} s   fit_transform {t2 - t1:6.2f} s   "
              f"transform {t3 - t2:6.2f} s   X {X.shape} sha256 {digest}  "
              f"report {encoder.report_}")


if __name__ == "__main__":
    main()
