"""The worked 2-2-1 example: a ReLU network and its 9 derivatives, step by step.

Run:  python examples/explain_worked_example.py [DIRECTORY]
Prints the trace in two notations and writes worked_example_trace.tex (a LaTeX handout) in
DIRECTORY, by default the working directory (docs/img/ holds the one the docs show).
"""

import sys
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

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "worked_example_trace.tex"
out.write_text(trace.to_latex(standalone=True))
print(f"wrote {out} (pdflatex compiles it as it is)")
