"""Seed 000's worked example: the 2-2-1 network and its 9 derivatives, step by step.

Run:  python examples/explain_seed000.py
Writes docs/img/seed000_trace.tex (a LaTeX handout) and prints the trace in each notation.
"""

from pathlib import Path

import deltaprop as dp
from deltaprop.explain import example

net, X, T = example("seed000")          # ReLU hidden layer, linear output, L = ½(t − y)²
trace = dp.explain(net, X, T, notation="goodfellow")
print(trace.to_text())

# The numbers are the engine's own: the trace's gradients are net.gradients exactly.
J, grads = net.gradients(X, T)
assert trace.J == J and all((l.grad_W == gW).all() for l, (gW, _) in zip(trace.layers, grads))

# The same numbers in seed 004's notation (n = Wᵀ â + b, S vectors).
print(trace.to_text(notation="hagan"))

out = Path(__file__).resolve().parent.parent / "docs" / "img" / "seed000_trace.tex"
out.write_text(trace.to_latex(standalone=True))
print(f"wrote {out} (pdflatex compiles it as it is)")
