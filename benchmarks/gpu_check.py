"""The GPU check: training step time of deltaprop on a GPU against PyTorch, and MNIST
trained on the GPU. ``benchmarks/gpu_check.sh`` runs it on the GPU machine, after
``tests/test_gpu.py``; it also runs on a CPU with the strict device (``--device strict
--small``, PyTorch on the CPU as the stand-in), which is how its logic is tested without
a GPU (``tests/test_gpu.py``).

    python3 benchmarks/gpu_check.py bench --out DIR            # step times, deltaprop vs torch
    python3 benchmarks/gpu_check.py bench --reference --out DIR   # + the NumPy path on the GPU
    python3 benchmarks/gpu_check.py mnist --data DIR --out DIR # MNIST 784-800-800-10
    python3 benchmarks/gpu_check.py summary --out DIR          # the table of both
    python3 benchmarks/gpu_check.py bench --device strict --small --out DIR   # CPU check

Step time. Both frameworks train the same architecture (ReLU hidden layers, softmax
output, cross-entropy, float32) with Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8) on one
fixed random batch already on the device: one step is deltaprop's ``net.backprop`` and
``optimizer.step(net.store)`` (the step ``fit`` takes per batch on a device, the loss left
there, without the gather of a shuffled batch) and PyTorch's ``zero_grad``, forward, ``cross_entropy``, ``backward`` and
``Adam.step`` (its default, multi-tensor implementation). After a warm-up (which also
compiles deltaprop's CUDA kernels), each round times ``--steps`` steps of every contender
between two synchronisations of the device, the contenders alternating (the order rotates
from round to round); the table gives the median step time over the rounds, and each ratio
torch/deltaprop is the median of the per-round ratios. ``--reference`` adds deltaprop on
its NumPy path (``deltaprop.kernels.use("numpy")``: CuPy's one kernel per NumPy operator,
no fused kernels), the same as ``DELTAPROP_KERNELS=numpy``.

MNIST. 784-800-800-10, ReLU, softmax + cross-entropy, float32, Adam (lr 1e-3) with a
cosine decay of the learning rate to 1e-5 over the epochs, batches of 128, 15 epochs
(options below), trained with ``net.fit`` on the whole training set (60,000 images; the
test set's 10,000 are never seen in training); the time of each epoch (``fit``'s
history), the total (the whole ``fit`` call, from host arrays), and the test accuracy
(``net.evaluate``). The data are read by ``deltaprop.datasets.load_mnist``
from ``--data`` or, without it, from the first of ``shared/datasets/mnist``,
``.gpu-data/mnist`` (inside the repository: what travels to the GPU machine) and
``../shared/datasets/mnist``.

Every subcommand writes its results as JSON into ``--out`` (``bench.json``,
``mnist.json``); ``summary`` prints them as one table, with the outcome of the steps that
``gpu_check.sh`` records in ``steps.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))

import deltaprop as dp  # noqa: E402
from deltaprop import kernels  # noqa: E402

#: (layer sizes, batch) of the step-time rows.
ROWS = [((784, 256, 128, 10), 128), ((784, 1024, 1024, 10), 256),
        ((784, 4096, 4096, 10), 1024)]
#: The rows of ``--small``: tiny, for a check of the logic on a CPU.
SMALL_ROWS = [((20, 16, 8, 4), 8), ((20, 32, 32, 4), 16)]

LR = 1e-3


# --------------------------------------------------------------------------- helpers
def _torch_device(device):
    return "cuda:" + device.name.split(":")[1] if device.kind == "cuda" else "cpu"


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _data(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=batch)
    T = np.eye(sizes[-1], dtype=np.float32)[labels]
    return X, labels, T


def _deltaprop_step(sizes, batch, device):
    """A function that takes one training step of deltaprop, and its network."""
    net = dp.MLP(list(sizes), activation="relu", output="softmax", loss="cross_entropy",
                 dtype="float32", seed=0, device=device)
    opt = dp.optimizers.Adam(lr=LR)
    X, _, T = _data(sizes, batch)
    Xd, Td = net.check_inputs(X, T)  # on the device, validated once

    def step():
        net.backprop(Xd, Td, lazy=True)  # as fit on a device: the loss stays there
        opt.step(net.store)

    return step, net


def _torch_step(sizes, batch, torch, tdev):
    """A function that takes one training step of PyTorch (same net, data and Adam)."""
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(tdev)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    X, labels, _ = _data(sizes, batch)
    Xt = torch.from_numpy(X).to(tdev)
    yt = torch.from_numpy(labels).to(tdev)
    loss_fn = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        opt.step()

    return step


def _write(out, name, result):
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / name).write_text(json.dumps(result, indent=2) + "\n")


def _environment(device):
    env = {"python": platform.python_version(), "numpy": np.__version__,
           "deltaprop": dp.__version__ if hasattr(dp, "__version__") else None,
           "device": device.name, "kernels_env": os.environ.get("DELTAPROP_KERNELS")}
    if device.kind == "cuda":
        cupy = device.xp
        props = cupy.cuda.runtime.getDeviceProperties(device.index)
        env["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        env["cupy"] = cupy.__version__
    torch = _import_torch()
    if torch is not None:
        env["torch"] = torch.__version__
    return env


# --------------------------------------------------------------------------- bench
def bench(args):
    device = dp.get_device(args.device)
    torch = _import_torch()
    rows = SMALL_ROWS if args.small else ROWS
    steps = args.steps or (3 if args.small else 50)
    rounds = args.rounds or (2 if args.small else 7)
    warmup = args.warmup or (2 if args.small else 20)
    tdev = _torch_device(device)
    results = []
    for sizes, batch in rows:
        # name -> (step, kernel mode); the mode is set before each timed block, not per step
        contenders = {"deltaprop": (_deltaprop_step(sizes, batch, device)[0], "auto")}
        if args.reference:
            contenders["deltaprop_numpy"] = (_deltaprop_step(sizes, batch, device)[0],
                                             "numpy")
        if torch is not None:
            contenders["torch"] = (_torch_step(sizes, batch, torch, tdev), None)

        def sync():
            device.synchronize()
            if torch is not None and tdev != "cpu":
                torch.cuda.synchronize(tdev)

        for fn, mode in contenders.values():
            if mode is not None:
                kernels.use(mode)
            for _ in range(warmup):
                fn()
        sync()
        times = {name: [] for name in contenders}
        names = list(contenders)
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                fn, mode = contenders[name]
                if mode is not None:
                    kernels.use(mode)
                sync()
                t0 = time.perf_counter()
                for _ in range(steps):
                    fn()
                sync()
                times[name].append((time.perf_counter() - t0) / steps)
        kernels.use("auto")
        row = {"sizes": list(sizes), "batch": batch, "steps": steps, "rounds": rounds,
               "step_s": {name: statistics.median(t) for name, t in times.items()}}
        for name in names:
            if name != "torch" and "torch" in times:
                row[f"torch_over_{name}"] = statistics.median(
                    a / b for a, b in zip(times["torch"], times[name]))
        results.append(row)
        print(_bench_line(row), flush=True)
    probe = dp.MLP([4, 3], output="softmax", loss="cross_entropy", device=device)
    fused = kernels.get("adam", like=probe.store.data) is not None
    result = {"environment": _environment(device), "fused_kernels": fused,
              "torch_device": tdev if torch is not None else None, "rows": results}
    _write(args.out, "bench.json", result)
    return 0


def _bench_line(row):
    arch = "-".join(map(str, row["sizes"])) + f"/b{row['batch']}"
    parts = [f"{arch:>22}"]
    for name, s in row["step_s"].items():
        parts.append(f"{name} {s * 1e3:8.3f} ms")
    for key, value in row.items():
        if key.startswith("torch_over_"):
            parts.append(f"torch/{key[len('torch_over_'):]} {value:5.2f}")
    return "  ".join(parts)


# --------------------------------------------------------------------------- MNIST
def _find_data(given):
    if given:
        return Path(given)
    for candidate in (ROOT / "shared" / "datasets" / "mnist", ROOT / ".gpu-data" / "mnist",
                      ROOT.parent / "shared" / "datasets" / "mnist"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("gpu_check: no MNIST data found; pass --data DIR (the directory of the "
                     "four IDX files)")


def mnist(args):
    device = dp.get_device(args.device)
    data = _find_data(args.data)
    X, y = dp.datasets.load_mnist(data, "train")
    Xt, yt = dp.datasets.load_mnist(data, "test")
    sizes = [784, *args.hidden, 10]
    if args.small:
        sizes = [784, 32, 10]
        X, y, Xt, yt = X[:1000], y[:1000], Xt[:500], yt[:500]
    epochs = args.epochs or (2 if args.small else 15)
    net = dp.MLP(sizes, activation="relu", output="softmax", loss="cross_entropy",
                 dtype="float32", seed=args.seed, device=device)
    schedule = dp.schedules.CosineWarmup(args.lr, total_epochs=epochs, min_lr=1e-5)
    device.synchronize()
    t0 = time.perf_counter()
    # No callback: with one, fit reads each batch's loss at once (a wait for the GPU per
    # step); without, at the end of the epoch. The epochs' times are fit's own.
    history = net.fit(X, y, optimizer=dp.optimizers.Adam(lr=args.lr), epochs=epochs,
                      batch_size=args.batch, schedule=schedule, seed=args.seed, verbose=0)
    device.synchronize()
    total = time.perf_counter() - t0
    epoch_s = [float(t) for t in history["time"]]
    test = net.evaluate(Xt, yt)
    train = net.evaluate(X, y)
    result = {"environment": _environment(device), "data": str(data), "sizes": sizes,
              "epochs": epochs, "batch": args.batch, "lr": args.lr, "seed": args.seed,
              "schedule": "cosine to 1e-5", "n_train": len(X), "n_test": len(Xt),
              "epoch_s": epoch_s, "total_s": total,
              "test_accuracy": test["accuracy"], "test_loss": test["loss"],
              "train_accuracy": train["accuracy"]}
    print(f"MNIST {'-'.join(map(str, sizes))} b{args.batch} {epochs} epochs on {device}: "
          f"{total:.2f} s (median epoch {statistics.median(epoch_s):.3f} s), "
          f"test accuracy {100 * test['accuracy']:.2f} %", flush=True)
    _write(args.out, "mnist.json", result)
    return 0


# --------------------------------------------------------------------------- summary
def summary(args):
    out = Path(args.out)
    lines = ["", "GPU check summary", "================="]
    steps = out / "steps.json"
    if steps.exists():
        for step in json.loads(steps.read_text()):
            lines.append(f"{step['name']:<18} exit {step['rc']:>3}  {step['seconds']:7.1f} s"
                         + ("  (time limit)" if step["rc"] in (124, 137) else ""))
    path = out / "bench.json"
    if path.exists():
        result = json.loads(path.read_text())
        env = result["environment"]
        lines.append(f"-- step time (device {env['device']} {env.get('gpu', '')}, fused "
                     f"kernels: {result['fused_kernels']}, torch on {result['torch_device']})")
        lines.extend(_bench_line(row) for row in result["rows"])
    else:
        lines.append("bench.json: not written")
    path = out / "mnist.json"
    if path.exists():
        r = json.loads(path.read_text())
        verdict = ("target met" if r["test_accuracy"] >= 0.984 and r["total_s"] < 10 else
                   "target (>= 98.4 % in < 10 s) NOT met")
        lines.append(f"-- MNIST {'-'.join(map(str, r['sizes']))} b{r['batch']}, {r['epochs']} "
                     f"epochs on {r['environment']['device']}: total {r['total_s']:.2f} s, "
                     f"epochs {min(r['epoch_s']):.3f}-{max(r['epoch_s']):.3f} s, test accuracy "
                     f"{100 * r['test_accuracy']:.2f} % (train {100 * r['train_accuracy']:.2f} "
                     f"%): {verdict}")
    else:
        lines.append("mnist.json: not written")
    text = "\n".join(lines)
    print(text)
    (out / "summary.txt").write_text(text + "\n")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("bench", "mnist", "summary"):
        p = sub.add_parser(name)
        p.add_argument("--out", default=None, help="directory for the JSON results")
        if name == "summary":
            continue
        p.add_argument("--device", default="cuda", help="cuda, cuda:N or strict (default cuda)")
        p.add_argument("--small", action="store_true", help="tiny sizes: a check of the logic")
        if name == "bench":
            p.add_argument("--steps", type=int, default=0, help="steps per timed round")
            p.add_argument("--rounds", type=int, default=0)
            p.add_argument("--warmup", type=int, default=0)
            p.add_argument("--reference", action="store_true",
                           help="also time deltaprop's NumPy path on the device")
        else:
            p.add_argument("--data", default=None, help="directory of the MNIST IDX files")
            p.add_argument("--hidden", type=lambda t: [int(n) for n in t.split(",")],
                           default=[800, 800], help="hidden layer sizes (default 800,800)")
            p.add_argument("--epochs", type=int, default=0)
            p.add_argument("--batch", type=int, default=128)
            p.add_argument("--lr", type=float, default=LR)
            p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "summary" and args.out is None:
        parser.error("summary needs --out")
    return {"bench": bench, "mnist": mnist, "summary": summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
