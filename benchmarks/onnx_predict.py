"""Prediction throughput of an exported model in ONNX Runtime beside deltaprop's own
``predict``: the same network, the same rows, rounds interleaved (one deltaprop timing, then
one ONNX Runtime timing, per round), rows per second and the median of the per-round ratios.

Run (one thread each, for steadier figures on a shared machine):

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/onnx_predict.py [--rounds 5]

``--threads N`` gives ONNX Runtime N intra-op threads (set OMP_NUM_THREADS=N for NumPy's
BLAS too). Each timing repeats ``predict`` until ``--seconds`` have passed.
"""

import argparse
import os
import statistics
import time

import numpy as np
import onnxruntime as ort

import deltaprop as dp

#: (name, layer sizes, hidden activation, norm, batch sizes)
CONFIGS = [
    ("iris-sized 4-16-3", [4, 16, 3], "relu", None, (1, 256, 10_000)),
    ("digits 64-128-10, GELU", [64, 128, 10], "gelu", None, (1, 256, 10_000)),
    ("MNIST 784-256-128-10, batch norm", [784, 256, 128, 10], "relu", "batch", (1, 256, 10_000)),
]


def network(sizes, activation, norm, rng):
    net = dp.MLP(sizes, activation=activation, output="softmax", loss="cross_entropy",
                 norm=norm, seed=0)
    X = rng.normal(size=(64, sizes[0])).astype(np.float32)
    net.fit(X, rng.integers(0, sizes[-1], 64), epochs=1, verbose=0)  # classes_, statistics
    return net


def rows_per_second(predict, X, seconds):
    """Rows per second of ``predict(X)``, repeated for at least ``seconds``."""
    predict(X)  # warm: buffers, first-call costs
    n, start = 0, time.perf_counter()
    while True:
        predict(X)
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n * len(X) / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="per timing")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    args = parser.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    rng = np.random.default_rng(0)
    print(f"onnxruntime {ort.__version__}, {args.threads} thread(s); NumPy with "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; {args.rounds} "
          f"interleaved rounds of {args.seconds:g} s each")
    print("| network | rows per call | deltaprop predict (rows/s) | onnxruntime (rows/s) "
          "| onnxruntime ÷ deltaprop (median of rounds) |")
    print("|---|---|---|---|---|")
    for name, sizes, activation, norm, batches in CONFIGS:
        net = network(sizes, activation, norm, rng)
        session = ort.InferenceSession(net.to_onnx().SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        for n in batches:
            X = rng.normal(size=(n, sizes[0])).astype(np.float32)
            labels = session.run(None, {"X": X})[0]
            assert (labels == net.predict(X)).all(), "the exported model disagrees"
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(rows_per_second(net.predict, X, args.seconds))
                theirs.append(rows_per_second(lambda x: session.run(None, {"X": x}), X,
                                              args.seconds))
            ratio = statistics.median(t / o for o, t in zip(ours, theirs))
            print(f"| {name} | {n:,} | {statistics.median(ours):,.0f} | "
                  f"{statistics.median(theirs):,.0f} | {ratio:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
