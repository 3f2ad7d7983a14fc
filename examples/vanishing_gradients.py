"""Vanishing gradients and dead ReLUs: a deep sigmoid network against a ReLU one.

Both networks have 8 hidden layers of 32 units and are trained with plain SGD (η = 0.5)
on the two spirals; the Diagnostics callback measures every layer at every epoch.

Run:  python examples/vanishing_gradients.py [DIRECTORY]
Writes vanishing_gradients.png, diagnostics_sigmoid.png and diagnostics_relu.png in
DIRECTORY, by default the working directory (docs/img/ holds the ones the docs show).
"""

import sys
from pathlib import Path

import deltaprop as dp
from deltaprop.diagnostics import plot_diagnostics, plot_layer_profile

img = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
X, y = dp.datasets.make_spirals(600, noise=0.05, seed=0)
runs = {}
for act in ("sigmoid", "relu"):
    net = dp.MLP([2] + [32] * 8 + [2], activation=act, output="softmax", loss="cross_entropy",
                 seed=0)
    runs[act] = diag = dp.Diagnostics(X, y)
    history = net.fit(X, y, optimizer=dp.optimizers.SGD(lr=0.5), epochs=20, batch_size=32,
                      callbacks=[diag], verbose=0, seed=0)
    print(f"{act}: final loss {history['loss'][-1]:.3f}, accuracy {history['accuracy'][-1]:.3f}")
    print(diag.table(0))
    plot_diagnostics(diag, img / f"diagnostics_{act}.png",
                     title=f"8 hidden {act} layers, SGD η = 0.5, two spirals")

g = {act: d.history["grad_norm"][0] for act, d in runs.items()}
print(f"after epoch 1, ‖∂J/∂W‖ of layer 1 / of the output layer: "
      f"sigmoid {g['sigmoid'][0]:.2e} / {g['sigmoid'][-1]:.2e}, "
      f"relu {g['relu'][0]:.2e} / {g['relu'][-1]:.2e}")
plot_layer_profile(runs, img / "vanishing_gradients.png",
                   title="deep sigmoid vs ReLU network after one epoch")
print("wrote", img / "vanishing_gradients.png")
