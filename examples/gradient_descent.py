"""Gradient descent on f(x, y) = 1.5x² + y² + 2 with η = 0.1, 0.001, 0.665757 (the example of
Rousseau's lecture notes, Neural networks: an introduction), and momentum and Adam on the
same function.

Run:  python examples/gradient_descent.py [DIRECTORY]
Writes gradient_descent.png in DIRECTORY, by default the working directory (docs/img/ holds
the one the docs show).
"""

import sys
from pathlib import Path

from deltaprop import descent

print(descent.iterate_table(etas=descent.LECTURE_ETAS, start=(-2.5, 2.0), steps=30))
out = Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "gradient_descent.png"
descent.plot_descent(out, start=(-2.5, 2.0), steps=30)
print("wrote", out)
