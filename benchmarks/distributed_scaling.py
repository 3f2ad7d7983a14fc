"""Data-parallel training over MPI: measured throughput and all-reduce share on this
machine, and the modelled speed-up on a cluster (docs/distributed.md).

    python benchmarks/distributed_scaling.py --data-dir ../shared/datasets/mnist
    python benchmarks/distributed_scaling.py --model-only      # re-plot from the JSON
    python benchmarks/distributed_scaling.py --help

Measure: the script starts itself under ``mpiexec -n 1`` and ``mpiexec -n 2`` (the
mpich wheel's mpiexec, next to this Python); every process limits BLAS to one thread
(``OMP_NUM_THREADS=1`` and threadpoolctl) and trains MNIST 784-800-800-10 (float32,
softmax, cross-entropy, Adam) on its shard of the first ``--samples`` training images
with ``net.fit(..., distributed=...)``: one warm-up epoch, then ``--epochs`` timed
epochs. samples/s is the global number of samples over the epoch's wall time; the
all-reduce share is the time process 0 spent in the gradient all-reduces (including the
wait for the slower process) over the epoch's time. The 1-process run is also timed
without ``distributed=`` (the plain loop), and it times one step's compute (backprop and
Adam's update) for several batch sizes, for the model. A plain ``Allreduce`` of the
gradient buffer, after a barrier, gives the bare cost of the collective on this machine.

Model: ring all-reduce, ``T_ar(K) = 2(K−1)/K · G/B + 2(K−1)·α`` for a gradient of ``G``
bytes, a bandwidth ``B`` and a per-message latency ``α``; the step of ``K`` processes
at a fixed local batch is the 1-process step plus ``T_ar(K)`` (deltaprop reduces after
the whole backward pass: no overlap), so the speed-up in samples/s is
``S(K) = K · t₁ / (t₁ + T_ar(K))``. For other network sizes and batches the step time
is scaled as ``t0 + P·(a + c·batch)``, fitted to the measured step times of two network
sizes (a fixed cost, the per-parameter work of every step such as the update, and that of
the products per sample): the assumption of the model (dense layers at the measured
rates).

The table of docs/distributed.md (between its ``scaling`` markers) and
docs/img/distributed_speedup.png are rewritten from the results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distributed_scaling.json"
DOC = ROOT / "docs" / "distributed.md"
PLOT = ROOT / "docs" / "img" / "distributed_speedup.png"
SIZES = [784, 800, 800, 10]
SMALL = [784, 64, 10]  # a second size, for the model's fit of the step time
NETWORKS = {"10 Gb/s Ethernet": (10e9 / 8, 50e-6), "100 Gb/s InfiniBand": (100e9 / 8, 5e-6)}
KS = [2, 4, 8, 16, 32, 64]


# -- measuring (run under mpiexec) --------------------------------------------------------


def _one_thread():
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # OMP_NUM_THREADS=1 is set by the launcher anyway
        pass


def _network(dp, sizes=SIZES):
    return dp.MLP(sizes, activation="relu", output="softmax", loss="cross_entropy",
                  dtype="float32", seed=0)


def worker(args):
    _one_thread()
    import deltaprop as dp
    from deltaprop.datasets import load_dataset
    from deltaprop.distributed import Distributed

    dist = Distributed(timeout=600)
    X, y = load_dataset("mnist", data_dir=args.data_dir)
    X, y = X[:args.samples].astype(np.float32), y[:args.samples]
    Xs, ys = dist.shard(X, y, seed=0)
    out = {"processes": dist.size, "runs": []}

    # The bare collective: an Allreduce of the gradient buffer, after a barrier.
    net = _network(dp)
    buf = np.zeros(net.store.size + 3, dtype=np.float32)
    times = []
    for _ in range(args.repeats):
        dist.comm.Barrier()
        t0 = time.perf_counter()
        dist.comm.Allreduce(dist.MPI.IN_PLACE, buf)
        times.append(time.perf_counter() - t0)
    out["allreduce_bare_s"] = float(np.median(times))
    out["gradient_bytes"] = int(buf.nbytes)

    for batch in args.batches:
        for plain in ([True, False] if dist.size == 1 else [False]):
            net = _network(dp)
            kw = dict(batch_size=batch, seed=0, verbose=0)
            if not plain:
                kw["distributed"] = dist
            net.fit(Xs, ys, epochs=1, **kw)  # warm-up
            before, calls = dist.reduce_seconds, dist.reduce_calls
            history = net.fit(Xs, ys, epochs=1 + args.epochs, resume=True, **kw)
            epoch_s = float(np.sum(history["time"]))
            reduce_s = dist.reduce_seconds - before
            shares = (dist.allgather(np.array([reduce_s / epoch_s]))[:, 0]
                      if not plain else np.array([0.0]))
            out["runs"].append({
                "local_batch": batch, "global_batch": batch * dist.size, "plain": plain,
                "epoch_s": epoch_s / args.epochs, "samples_per_s":
                    args.epochs * len(X) / epoch_s,
                "allreduce_share": float(shares[0]), "allreduce_share_max": float(shares.max()),
                "allreduce_per_step_s": reduce_s / max(dist.reduce_calls - calls, 1)})

    if dist.size == 1:  # one step's compute per batch size, for the model
        for key, sizes in (("", SIZES), ("_small", SMALL)):
            out["step_s" + key], out["parameters" + key] = _step_times(dp, sizes, X, y, args)
    if dist.is_root:
        Path(args.worker_out).write_text(json.dumps(out, indent=1))


def _step_times(dp, sizes, X, y, args):
    """``({batch: median seconds of backprop + Adam's update}, parameters)``."""
    net = _network(dp, sizes)
    opt = dp.optimizers.get_optimizer("adam")
    steps = {}
    for batch in args.model_batches:
        Xb = X[:batch]
        Tb, _ = net.encode_targets(y[:batch], batch, fit=True)
        net.backprop(Xb, Tb)
        opt.step(net.store)
        t = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            net.backprop(Xb, Tb)
            opt.step(net.store)
            t.append(time.perf_counter() - t0)
        steps[str(batch)] = float(np.median(t))
    return steps, int(net.store.size)


def _mpiexec():
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else "mpiexec"


def measure(args):
    results = {"machine": os.uname().nodename, "cores": os.cpu_count(),
               "samples": args.samples, "epochs": args.epochs, "by_processes": {}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for k in args.processes:
        out = RESULTS.with_name(f"distributed_scaling_{k}.json")
        cmd = [_mpiexec(), "-n", str(k), sys.executable, __file__, "--worker",
               "--worker-out", str(out), "--data-dir", args.data_dir,
               "--samples", str(args.samples), "--epochs", str(args.epochs),
               "--repeats", str(args.repeats), "--batches", *map(str, args.batches),
               "--model-batches", *map(str, args.model_batches)]
        print(f"measuring {k} process(es) ...", flush=True)
        subprocess.run(cmd, check=True, env=env)
        results["by_processes"][str(k)] = json.loads(out.read_text())
        out.unlink()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    results["load_average_1min_after"] = load
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    return results


# -- the model ------------------------------------------------------------------------------


def ring_allreduce_s(k, nbytes, bandwidth, latency):
    return 2 * (k - 1) / k * nbytes / bandwidth + 2 * (k - 1) * latency


def speedup(k, step_s, nbytes, bandwidth, latency):
    return k * step_s / (step_s + ring_allreduce_s(k, nbytes, bandwidth, latency))


def model(results):
    one = results["by_processes"]["1"]
    P, nbytes = one["parameters"], one["gradient_bytes"]
    steps = {int(b): t for b, t in one["step_s"].items()}
    # One step's time as t0 + a·P + c·P·b: a fixed cost (the Python calls), the
    # per-parameter work of every step (the update, the gradient buffers) and the
    # per-parameter, per-sample work of the products, fitted by least squares to the
    # measured step times of the two network sizes (least relative squares).
    rows_fit, times = [], []
    for key in ("", "_small"):
        p = one["parameters" + key]
        for b, t in one["step_s" + key].items():
            rows_fit.append([1.0, p, p * int(b)])
            times.append(t)
    A, t = np.array(rows_fit), np.array(times)
    coef = np.linalg.lstsq(A / t[:, None], np.ones_like(t), rcond=None)[0]  # relative errors
    fixed, per_param, per_param_sample = (max(float(c), 0.0) for c in coef)
    rows = []
    for name, (bw, lat) in NETWORKS.items():
        for b in sorted(steps):
            rows.append((name, b, [speedup(k, steps[b], nbytes, bw, lat) for k in KS]))
    # From which size and batch it pays: efficiency S(K)/K at K = 16, compute scaled as P·b.
    sizes = [10_000, 100_000, 1_000_000, 10_000_000]
    batches = [16, 32, 64, 128, 256, 512]
    pays, half = {}, {}

    def efficiency(p, b, bw, lat):
        return speedup(16, fixed + p * (per_param + per_param_sample * b), 4 * p, bw, lat) / 16

    for name, (bw, lat) in NETWORKS.items():
        for p in sizes:
            pays[(name, p)] = [efficiency(p, b, bw, lat) for b in batches]
            # The smallest local batch at which 16 processes are at least 50 % efficient.
            half[(name, p)] = next((b for b in range(1, 1 << 16)
                                    if efficiency(p, b, bw, lat) >= 0.5), None)
    return {"P": P, "nbytes": nbytes, "steps": steps, "per_param_sample": per_param_sample,
            "per_param": per_param, "fixed": fixed,
            "rows": rows, "pays": pays, "half": half, "sizes": sizes, "batches": batches}


def _fmt_sizes(p):
    return f"{p / 1e6:g} M" if p >= 1e6 else f"{p / 1e3:g} k"


def tables(results, m):
    out = []
    by = results["by_processes"]
    out.append("Measured (noisy, shared machine: the load average was "
               f"{results.get('load_average_1min_after') or float('nan'):.1f} on "
               f"{results['cores']} cores after the run), MNIST {'-'.join(map(str, SIZES))}, "
               f"float32, Adam, one BLAS thread per process, {results['samples']} samples, "
               f"mean of {results['epochs']} epochs:\n")
    out.append("| processes | local batch | global batch | loop | samples/s | all-reduce share "
               "(process 0 / max) | all-reduce per step |")
    out.append("|---:|---:|---:|---|---:|---:|---:|")
    for k, res in sorted(by.items(), key=lambda kv: int(kv[0])):
        for r in res["runs"]:
            out.append(f"| {k} | {r['local_batch']} | {r['global_batch']} | "
                       f"{'plain fit' if r['plain'] else 'distributed='} | "
                       f"{r['samples_per_s']:,.0f} | {100 * r['allreduce_share']:.1f} % / "
                       f"{100 * r['allreduce_share_max']:.1f} % | "
                       f"{1e3 * r['allreduce_per_step_s']:.2f} ms |")
    out.append("")
    bare = {k: res["allreduce_bare_s"] for k, res in by.items()}
    out.append("The bare `Allreduce` of the " + f"{m['nbytes'] / 1e6:.2f} MB gradient buffer "
               "after a barrier (shared memory, one machine): " +
               ", ".join(f"{1e3 * t:.2f} ms with {k} process(es)" for k, t in sorted(bare.items()))
               + ".\n")
    out.append("One step's compute on one process (backprop and Adam's update, median): " +
               ", ".join(f"{1e3 * t:.1f} ms at batch {b}" for b, t in sorted(m["steps"].items()))
               + ".\n")
    out.append("Modelled speed-up in samples/s at a fixed local batch, "
               f"`S(K) = K·t₁/(t₁ + T_ar(K))`, ring all-reduce of {m['nbytes'] / 1e6:.2f} MB "
               "(10 Gb/s: α = 50 µs; 100 Gb/s: α = 5 µs):\n")
    out.append("| network | local batch | t₁ (ms) | " + " | ".join(f"K={k}" for k in KS) + " |")
    out.append("|---|---:|---:|" + "---:|" * len(KS))
    for name, b, s in m["rows"]:
        out.append(f"| {name} | {b} | {1e3 * m['steps'][b]:.1f} | " +
                   " | ".join(f"{v:.1f}" for v in s) + " |")
    out.append("")
    out.append("Parallel efficiency `S(16)/16` by network size (parameters, float32 "
               "gradients) and local batch; the step time is scaled from the fit "
               f"`t = {1e6 * m['fixed']:.0f} µs + P·({1e9 * m['per_param']:.2f} ns + "
               f"b·{1e9 * m['per_param_sample']:.3f} ns)` to the measured step times of "
               f"{'-'.join(map(str, SIZES))} and {'-'.join(map(str, SMALL))}:\n")
    out.append("| network | parameters | " + " | ".join(f"b={b}" for b in m["batches"]) +
               " | local batch for 50 % |")
    out.append("|---|---:|" + "---:|" * (len(m["batches"]) + 1))
    for (name, p), eff in m["pays"].items():
        half = m["half"][(name, p)]
        out.append(f"| {name} | {_fmt_sizes(p)} | " +
                   " | ".join(f"{100 * e:.0f} %" for e in eff) +
                   f" | {'any' if half == 1 else half if half else '> 65535'} |")
    return "\n".join(out) + "\n"


def plot(m, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = np.arange(1, 65)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (name, (bw, lat)) in zip(axes, NETWORKS.items()):
        ax.plot(ks, ks, color="0.6", linestyle=":", label="ideal")
        for b, t in sorted(m["steps"].items()):
            ax.plot(ks, [speedup(k, t, m["nbytes"], bw, lat) if k > 1 else 1.0 for k in ks],
                    label=f"local batch {b}")
        ax.set_title(f"{name}, {'-'.join(map(str, SIZES))}")
        ax.set_xlabel("processes K")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("speed-up in samples/s (model)")
    axes[1].legend(fontsize=8)
    # Where it pays: the efficiency of 16 processes by network size and local batch.
    ax = axes[2]
    batches = np.unique(np.round(np.logspace(0, 12, 97, base=2)).astype(int))
    for (name, (bw, lat)), style in zip(NETWORKS.items(), ("-", "--")):
        for p, color in zip(m["sizes"], ("C0", "C1", "C2", "C3")):
            t = m["fixed"] + p * (m["per_param"] + m["per_param_sample"] * batches)
            eff = [speedup(16, ti, 4 * p, bw, lat) / 16 for ti in t]
            ax.plot(batches, eff, style, color=color,
                    label=f"{_fmt_sizes(p)} parameters, {name.split()[0]} Gb/s")
    ax.axhline(0.5, color="0.5", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1)
    ax.set_xlabel("local batch")
    ax.set_ylabel("efficiency S(16)/16 (model)")
    ax.set_title("16 processes: where it pays")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle("Data-parallel training: ring all-reduce model with the measured step times")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_doc(text):
    if not DOC.exists():
        print(text)
        return
    doc = DOC.read_text(encoding="utf-8")
    new, n = re.subn(r"(<!-- scaling:begin -->\n).*?(<!-- scaling:end -->)",
                     lambda mt: mt.group(1) + text + mt.group(2), doc, flags=re.S)
    if n != 1:
        raise SystemExit(f"{DOC} has no <!-- scaling:begin --> ... <!-- scaling:end --> markers")
    DOC.write_text(new, encoding="utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "mnist"),
                    help="the MNIST IDX files (default ../shared/datasets/mnist)")
    ap.add_argument("--samples", type=int, default=12800,
                    help="training images shared by the processes (default 12800)")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (default 2)")
    ap.add_argument("--repeats", type=int, default=20, help="repeats of the step timings")
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128],
                    help="local batch sizes of the measured runs (default 32 64 128)")
    ap.add_argument("--model-batches", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model-only", action="store_true",
                    help=f"skip the measurement: model and plot from {RESULTS.name}")
    ap.add_argument("--no-doc", action="store_true", help="print the tables, leave the doc")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    results = json.loads(RESULTS.read_text()) if args.model_only else measure(args)
    m = model(results)
    text = tables(results, m)
    print(text)
    print(f"wrote {plot(m, PLOT)}")
    if not args.no_doc:
        write_doc(text)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
