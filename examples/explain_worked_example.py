"""The worked 2-2-1 example: a ReLU network and its 9 derivatives, step by step.

Run:  python examples/explain_worked_example.py
Writes docs/img/worked_example_trace.tex (a LaTeX handout) and prints the trace in two notations.
"""

from pathlib import Path

import deltaprop as dp
from deltaprop.explain import example

net, X, T = example("relu-2-2-1")       # ReLU hidden layer, linear output, L = ½(t − y)²
trace = dp.explain(net, X, T, notation="goodfellow")
print(trace.to_text())

# The numbers are the engine's own: the trace's gradients are net.gradients exactly.
J, grads = net.gradients(X, T)
assert trace.J == J and all((l.grad_W == gW).all() for l, (gW, _) in zip(trace.layers, grads))

# The same numbers in Hagan et al.'s notation (n = Wᵀ â + b, sensitivities S).
print(trace.to_text(notation="hagan"))

out = Path(__file__).resolve().parent.parent / "docs" / "img" / "worked_example_trace.tex"
out.write_text(trace.to_latex(standalone=True))
print(f"wrote {out} (pdflatex compiles it as it is)")
