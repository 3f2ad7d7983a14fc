"""Accuracy runs on MNIST and Fashion-MNIST (minutes on 2 cores).

    python scripts/accuracy.py mnist 784,256,128,10 --epochs 10
    python scripts/accuracy.py mnist 784,800,800,10 --epochs 20 --cosine
    python scripts/accuracy.py fashion-mnist 784,256,128,10 --epochs 15 --cosine
    python scripts/accuracy.py mnist 784,800,800,10 --epochs 20 --cosine --dropout 0.2
    python scripts/accuracy.py fashion-mnist 784,256,128,10 --epochs 15 --cosine --norm batch

Adam, batch 128, softmax + cross-entropy, ReLU hidden layers, pixels scaled to [0, 1].
Prints the per-epoch log, the wall time and the test accuracy.
"""

import argparse
import time
from pathlib import Path

import deltaprop as dp


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", choices=["mnist", "fashion-mnist"])
    p.add_argument("sizes", help="layer sizes, e.g. 784,256,128,10")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--cosine", action="store_true", help="cosine decay of the learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer")
    p.add_argument("--norm", choices=["batch", "layer"], default=None,
                   help="normalisation after each hidden layer")
    p.add_argument("--data-dir", type=Path,
                   default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    a = p.parse_args()
    d = a.data_dir / a.data
    Xtr, ytr = dp.datasets.load_idx_dataset(d, split="train")
    Xte, yte = dp.datasets.load_idx_dataset(d, split="test")
    sizes = [int(s) for s in a.sizes.split(",")]
    net = dp.MLP(sizes, output="softmax", loss="cross_entropy", seed=a.seed, dropout=a.dropout,
                 norm=a.norm)
    schedule = dp.schedules.CosineWarmup(a.lr, total_epochs=a.epochs) if a.cosine else None
    t = time.perf_counter()
    net.fit(Xtr, ytr, optimizer=dp.optimizers.Adam(lr=a.lr), epochs=a.epochs, batch_size=128,
            seed=a.seed, verbose=2, schedule=schedule)
    extra = (f" dropout {a.dropout:g}" if a.dropout else "") + (f" norm {a.norm}" if a.norm else "")
    print(f"{a.data} {sizes}{extra}: {time.perf_counter() - t:.1f} s, "
          f"test accuracy {net.score(Xte, yte):.4f}")


if __name__ == "__main__":
    main()
