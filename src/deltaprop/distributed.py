"""Beyond one process: data-parallel training over MPI, and the estimators on Dask.

Data-parallel training (the scheme of Horovod and PyTorch's DistributedDataParallel)
---------------------------------------------------------------------------------------
Every process holds the same network and its own shard of the training data. Each step,
every process runs :meth:`~deltaprop.network.Sequential.backprop` on its local batch,
then *one* all-reduce sums the flat gradient buffer :attr:`ParameterStore.grad
<deltaprop.parameters.ParameterStore>` (with the loss and the batch sizes packed at its
end), and every process applies the same update. Since every process starts from the
same weights and applies the same update to the same reduced gradient, all of them hold
the same weights, bit for bit, after every step.

The reduced gradient is the gradient of the *global* batch, the union of the local ones:
with ``reduction="mean"`` the objective of a batch is ``Σ w ℓ / Σ w`` (``w = 1`` without
sample weights), so each process contributes its data term multiplied by its local
``Σ w`` and the sum is divided by the global ``Σ w``; the L2 term ``(λ/2)Σ‖W‖²`` is taken
out before the reduction and added back once after it (not once per process).

>>> from deltaprop.distributed import Distributed           # doctest: +SKIP
>>> dist = Distributed()                  # MPI.COMM_WORLD; run under mpiexec -n K
>>> X_local, y_local = dist.shard(X, y, seed=0)                # or load your own shard
>>> net.fit(X_local, y_local, batch_size=64, seed=0, distributed=dist)
>>> if dist.is_root:
...     net.save("model.npz")

``batch_size`` is the *local* batch: the global batch is the sum of the local ones
(``K × batch_size``), as in Horovod. Each process shuffles its shard each epoch from
``default_rng([seed, epoch, rank])``; every process makes the same number of steps per
epoch (that of the largest shard), and a process whose shard is used up contributes an
empty batch, so uneven shards and the last short batch give the gradient of exactly the
samples of that step. The epoch's loss and metrics, and the validation metrics (each
process validates on its own validation data), are reduced over the processes, so that
the divergence guard, early stopping and learning-rate schedules decide the same
everywhere; a ``stop_training`` set on any process stops all of them.

Every collective has a timeout (``timeout=`` or ``DELTAPROP_MPI_TIMEOUT``, seconds):
a process that fails ends the job with ``MPI_Abort`` and a message naming it, instead of
leaving the others waiting forever. Batch normalisation uses each process's batch
statistics (as DistributedDataParallel without SyncBatchNorm); its running averages are
averaged over the processes at the end of each epoch, so that every process predicts
the same.

The estimators on Dask
----------------------
Nothing of ours is needed there: scikit-learn's searches over the estimators of
:mod:`deltaprop.sklearn` run on a Dask cluster through joblib's Dask backend
(``with joblib.parallel_backend("dask"): search.fit(X, y)``), and dask-ml's
``Incremental`` trains them out of core, ``partial_fit`` on one chunk of a Dask array at
a time (docs/distributed.md has both).
"""

from __future__ import annotations

import math
import os
import sys
import time
import zlib

import numpy as np

__all__ = ["Distributed", "DistributedError", "from_environment", "world_size", "abort_world",
           "begin_run"]

#: Environment variables that MPI launchers set to the number of processes.
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")
_DEFAULT_TIMEOUT = 300.0


class DistributedError(ValueError):
    """A distributed run cannot start or go on: no MPI library, or the processes' weights
    differ. A ``ValueError``, so that the command reports it in one line."""


def world_size():
    """The number of processes the MPI launcher started (1 outside ``mpiexec``), read
    from the launcher's environment, without importing mpi4py."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def from_environment(timeout=None):
    """A :class:`Distributed` over ``MPI.COMM_WORLD`` when this process was started by
    ``mpiexec -n K`` with ``K > 1``; None otherwise (mpi4py is then not imported)."""
    size = world_size()
    if size <= 1:
        return None
    try:
        return Distributed(timeout=timeout)
    except ImportError as exc:
        raise DistributedError(f"started as one of {size} MPI processes, but {exc}") from None


def abort_world(status=1):
    """End every process of an MPI job (``MPI_Abort``) when this process is one of
    several and has already started MPI; otherwise do nothing. For a command that has
    reported its error and must not leave the other processes waiting."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and world_size() > 1 and mpi.Is_initialized() and not mpi.Is_finalized():
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.5)  # let the launcher pass the message on before it ends the job
        mpi.COMM_WORLD.Abort(status)
        _end_this_process()


def _end_this_process():
    """MPI_Abort may return before the launcher ends this process: end it now, without
    the exit handlers (MPI_Finalize would wait for the processes that are gone)."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def _same(a, b):
    """Whether two settings are equal (plain values: numbers, strings, lists, dicts)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
        return False


class _Described(str):
    """A description shown as it is (not quoted) in the message."""

    def __repr__(self):
        return str(self)


def _summary(value):
    """A setting as compared: an array by its shape, dtype and CRC-32 (not its values)."""
    if isinstance(value, np.ndarray):
        data = (repr(value.tolist()).encode() if value.dtype.kind == "O"
                else np.ascontiguousarray(value).view(np.uint8))
        crc = zlib.crc32(data) if value.size else 0
        return _Described(f"an array of shape {value.shape}, {value.dtype}, CRC-32 {crc:#010x}")
    return value


def begin_run(dist, settings, verbose=True):
    """For a command: nothing outside ``mpiexec`` (``dist`` None); else
    :meth:`Distributed.begin`: the same ``settings`` (options, data arrays) on every
    process or an error naming what differs, and one line saying how the run is shared."""
    if dist is not None:
        dist.begin(settings, verbose)


def _short(value, limit=90):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("distributed training needs mpi4py and an MPI library: "
                          "pip install 'deltaprop[mpi]'") from exc
    return MPI


class Distributed:
    """Data-parallel training over an MPI communicator (see the module's text).

    Parameters
    ----------
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    timeout : float, optional
        Seconds any collective may wait for the other processes before the job is
        ended with ``MPI_Abort`` (default: ``DELTAPROP_MPI_TIMEOUT`` or 300).

    Attributes
    ----------
    rank, size : int
    reduce_seconds : float
        Time spent in the gradient all-reduces so far (including the wait for slower
        processes); ``reduce_calls`` counts them.
    """

    def __init__(self, comm=None, timeout=None):
        self.MPI = _import_mpi()
        self.comm = self.MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        if timeout is None:
            timeout = float(os.environ.get("DELTAPROP_MPI_TIMEOUT", _DEFAULT_TIMEOUT))
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self.reduce_seconds, self.reduce_calls = 0.0, 0
        self._buffer = None
        self._step = ""
        self._interrupted = False  # Ctrl-C seen here, not yet agreed on by every process

    @property
    def is_root(self):
        """True on process 0, the one that writes the files."""
        return self.rank == 0

    def __repr__(self):
        return f"Distributed(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"

    # -- collectives with a deadline ----------------------------------------------------------
    def abort(self, message, status=1):
        """Print ``message`` (naming this process) and end every process of the job."""
        print(f"deltaprop: process {self.rank} of {self.size}: {message}", file=sys.stderr,
              flush=True)
        sys.stdout.flush()
        time.sleep(0.5)  # let the launcher pass the message on before it ends the job
        self.comm.Abort(status)
        _end_this_process()

    def _wait(self, request, what):
        """Wait for a nonblocking collective, at most ``timeout`` seconds."""
        deadline = time.monotonic() + self.timeout
        spins = 0
        while not request.Test():
            spins += 1
            if spins > 200:
                time.sleep(0.0001 if spins < 20000 else 0.002)
            if spins % 64 == 0 and time.monotonic() > deadline:
                self.abort(f"no answer from the other processes within {self.timeout:g} s "
                           f"in {what}{self._step}: one of them has probably failed (see its message) "
                           f"or hangs; ending the job (raise the limit with timeout= or "
                           f"DELTAPROP_MPI_TIMEOUT)")

    def allreduce(self, array, op="sum", what="an all-reduce"):
        """The elementwise sum (or ``"max"``, ``"min"``) of ``array`` over the processes,
        in place (``array`` is returned)."""
        ops = {"sum": self.MPI.SUM, "max": self.MPI.MAX, "min": self.MPI.MIN}
        self._wait(self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=ops[op]), what)
        return array

    def allgather(self, array, what="an all-gather"):
        """``(size, *array.shape)``: every process's ``array`` (same shape everywhere)."""
        array = np.ascontiguousarray(array)
        out = np.empty((self.size,) + array.shape, dtype=array.dtype)
        self._wait(self.comm.Iallgather(array, out), what)
        return out

    def allgather_object(self, obj, what="an all-gather"):
        """Every process's picklable ``obj``, as a list in rank order."""
        import pickle

        data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
        sizes = self.allgather(np.array([data.size], dtype=np.int64), what)[:, 0]
        out = np.empty(int(sizes.sum()), dtype=np.uint8)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self._wait(self.comm.Iallgatherv(data, [out, (sizes, offsets), self.MPI.BYTE]), what)
        return [pickle.loads(out[o:o + s].tobytes()) for o, s in zip(offsets, sizes)]

    def any(self, flag, what="the agreement on stopping"):
        """True on every process when ``flag`` is true on any of them."""
        return bool(self.allreduce(np.array([1 if flag else 0], dtype=np.int64), "max",
                                   what)[0])

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "a barrier")

    # -- agreement on the run ---------------------------------------------------------------
    def check_same_settings(self, settings, what="settings"):
        """Raise :class:`DistributedError` on every process, naming each setting that
        differs and its value on each process, unless every process was given the same
        ``settings`` (a dict of picklable values: options, data shapes, checksums...).

        One all-gather at the start of a run, instead of a run that ends in a timeout (a
        different batch size: different numbers of steps) or in weights that differ (a
        different seed, learning rate or number of epochs)."""
        mine = {key: _summary(value) for key, value in settings.items()}
        gathered = self.allgather_object(mine, f"the comparison of the {what}")
        keys = sorted({key for one in gathered for key in one}, key=str)
        missing = object()
        differ = []
        for key in keys:
            values = [one.get(key, missing) for one in gathered]
            if any(not _same(v, values[0]) for v in values[1:]):
                shown = ", ".join(f"{'(none)' if v is missing else _short(v)} on process {r}"
                                  for r, v in enumerate(values))
                differ.append(f"{key}: {shown}")
        if differ:
            raise DistributedError(
                f"the {self.size} processes were not given the same {what} "
                f"({'; '.join(differ)}); start every process with the same options and data")

    def begin(self, settings, verbose=True):
        """The start of a command's run: :meth:`check_same_settings`, then, on process 0
        when ``verbose``, one line saying that the run is data-parallel (with the global
        batch when ``settings`` has a ``"batch_size"``)."""
        self.check_same_settings(settings)
        if verbose and self.is_root:
            bs = settings.get("batch_size")
            batch = "" if bs is None else \
                f", global batch {self.size * bs} ({self.size} × {bs})"
            print(f"data-parallel training over MPI: {self.size} processes{batch}", flush=True)

    # -- data -----------------------------------------------------------------------------
    def shard(self, *arrays, seed=0):
        """This process's part of each array (same rows for all): the rows are dealt out
        by a permutation seeded with ``seed`` into ``size`` parts whose sizes differ by at
        most one; each part keeps the rows' original order. Every process must pass the
        same arrays and seed. One array gives one array back, several give a tuple."""
        if not arrays:
            raise ValueError("shard() needs at least one array")
        n = arrays[0].shape[0] if hasattr(arrays[0], "shape") else len(arrays[0])
        for k, a in enumerate(arrays[1:], 1):
            m = a.shape[0] if hasattr(a, "shape") else len(a)
            if m != n:
                raise ValueError(f"shard(): array {k} has {m} rows but array 0 has {n}")
        if n < self.size:
            raise ValueError(f"{n} samples cannot be shared by {self.size} processes")
        perm = np.random.default_rng([int(seed), 0x5A4D]).permutation(n)
        idx = np.sort(np.array_split(perm, self.size)[self.rank])
        parts = tuple(a[idx] if hasattr(a, "shape") else np.asarray(a)[idx] for a in arrays)
        return parts[0] if len(parts) == 1 else parts

    # -- hooks of the training loop (deltaprop.training.fit) ----------------------------------
    def shuffle_key(self, seed, epoch):
        """The seed of this process's order of its samples in ``epoch``."""
        return [seed, epoch, self.rank]

    def callbacks(self, callbacks):
        """The callbacks this process runs: all of them on process 0; the others skip
        :class:`~deltaprop.training.ModelCheckpoint` (process 0 alone writes files)."""
        from .training import ModelCheckpoint

        callbacks = list(callbacks)
        return callbacks if self.is_root else [cb for cb in callbacks
                                               if not isinstance(cb, ModelCheckpoint)]

    def verbose(self, verbose):
        """Progress output on process 0 only."""
        return verbose if self.is_root else 0

    def agree_classes(self, net, y):
        """Give ``net`` the classes of every process's labels (a shard may lack one)."""
        from .tasks import check_labels, classes_for, infer_network_task

        if getattr(net, "declared_task", None) is None:  # as encode_targets(fit=True) does
            net.task_ = infer_network_task(y, net.default_task, net.n_outputs)
        if net.task != "classification":
            return
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == net.n_outputs and net.n_outputs > 1:
            net.classes_ = np.arange(net.n_outputs)  # one-hot rows
            return
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        y = check_labels(y)
        local = np.unique(y) if y.ndim == 1 else y
        gathered = self.allgather_object(local, "the exchange of the class labels")
        try:
            union = np.unique(np.concatenate([np.asarray(g) for g in gathered]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the processes' class labels cannot be combined: {exc}") from None
        net.classes_ = classes_for(union, max(net.n_outputs, 2))

    def plan(self, net, T, Tv, batch_size):
        """``(local batch size, steps per epoch, global number of samples)`` for the
        local training targets ``T`` (and validation targets ``Tv`` or None), the same
        decisions on every process; refuses an empty shard, a batch that batch
        normalisation cannot train on, and validation data on only some processes."""
        from ._validation import check_int

        self._step = ""
        n = T.shape[0]
        bs = None if batch_size is None else check_int("batch_size", batch_size)
        weights = zlib.crc32(np.ascontiguousarray(net.store.data).view(np.uint8))
        self.check_same_settings({"batch_size": bs, "network": net.get_config(),
                                  "weights (CRC-32)": hex(weights)},
                                 "training settings")
        info = self.allgather(np.array([n, int(Tv is not None)], dtype=np.int64),
                              "the exchange of the shard sizes")
        sizes, with_val = info[:, 0], info[:, 1]
        if (sizes == 0).any():
            raise ValueError(f"process {int(np.argmax(sizes == 0))} has no training samples "
                             f"(shard sizes {sizes.tolist()})")
        if with_val.min() != with_val.max():
            raise ValueError(f"validation data on processes {np.flatnonzero(with_val).tolist()}"
                             f" only: give every process its validation data, or none")
        bs = int(sizes.max()) if bs is None else bs
        steps = int(max(math.ceil(int(s) / bs) for s in sizes))
        smallest = min(min(bs, int(s) - (math.ceil(int(s) / bs) - 1) * bs) for s in sizes)
        if smallest < net.min_training_batch:
            raise ValueError(
                f"the network needs batches of at least {net.min_training_batch} samples in "
                f"training (batch normalisation), but the shards of {sizes.tolist()} samples "
                f"in local batches of {bs} leave a batch of {smallest}: choose another "
                f"batch_size")
        if net.metric_name == "r2":  # R² needs Σ(t − mean)² over every process's targets
            self._train_sst = self._sst(T)
            self._val_sst = None if Tv is None else self._sst(Tv)
        return min(bs, n), steps, int(sizes.sum())

    @staticmethod
    def _decayed(net):
        """``[(W, grad_W), ...]``: the tensors the L2 term applies to, in the store's order."""
        store = net.store
        return [(store.view(store.data, s), store.view(store.grad, s)) for s in store.slots
                if s.decay]

    def _l2_term(self, net, decayed):
        """``(λ/2)Σ‖W‖²``, summed as :meth:`Sequential.objective` sums it."""
        if not net.l2:
            return 0.0
        return 0.5 * net.l2 * sum(float(np.vdot(W, W)) for W, _ in decayed)

    def reduce_gradient(self, net, J, n_local, sample_weight=None):
        """After ``net.backprop`` on the local batch (``n_local`` samples, possibly 0:
        then ``J`` and the gradient buffer are ignored), make ``net.store.grad`` the
        gradient of the global batch with one all-reduce; returns ``(J, global batch
        size)`` with ``J`` the global batch's objective."""
        grad = net.store.grad
        P = grad.size
        buf = self._buffer
        if buf is None or buf.size != P + 4 or buf.dtype != grad.dtype:
            buf = self._buffer = np.empty(P + 4, dtype=grad.dtype)
        mean = net.reduction == "mean"
        l2 = net.l2
        decayed = self._decayed(net) if l2 else ()
        l2_term = self._l2_term(net, decayed)
        if n_local == 0:
            buf[:] = 0
        else:
            if l2:
                for W, grad_W in decayed:
                    grad_W -= l2 * W  # the data term only: L2 is added once, after
            count = float(n_local if sample_weight is None
                          else sample_weight.sum(dtype=np.float64))
            data_J = J - l2_term
            if mean:
                np.multiply(grad, count, out=buf[:P])
                buf[P] = data_J * count
            else:
                buf[:P] = grad
                buf[P] = data_J
            buf[P + 1] = count
            buf[P + 2] = n_local
        buf[P + 3] = 1.0 if self._interrupted else 0.0  # Ctrl-C, agreed on at this step
        t0 = time.perf_counter()
        self.allreduce(buf, what="the gradient all-reduce")
        self.reduce_seconds += time.perf_counter() - t0
        self.reduce_calls += 1
        if buf[P + 3] > 0:  # every process stops at this same step: no collective is left
            self._interrupted = False  # waiting, the weights roll back alike everywhere
            raise KeyboardInterrupt
        total = float(buf[P + 1])
        scale = (1.0 / total if total > 0 else 0.0) if mean else 1.0
        if scale == 1.0:
            grad[:] = buf[:P]
        else:
            np.multiply(buf[:P], scale, out=grad)
        if l2:
            for W, grad_W in decayed:
                grad_W += l2 * W
        return float(buf[P]) * scale + l2_term, int(round(float(buf[P + 2])))

    def where(self, epoch, batch):
        """Name the step in the timeout messages."""
        self._step = f" (epoch {epoch + 1}, batch {batch + 1})"

    def _average_buffers(self, net):
        buffers = [v for layer in net.layers for v in layer.buffers().values()]
        if not buffers:
            return
        flat = np.concatenate([np.asarray(b, dtype=np.float64).ravel() for b in buffers])
        self.allreduce(flat, what="the averaging of the running statistics")
        flat /= self.size
        pos = 0
        for layer in net.layers:
            for key, value in layer.buffers().items():
                layer.set_buffer(key, flat[pos:pos + value.size].reshape(value.shape)
                                 .astype(value.dtype))
                pos += value.size

    def _sst(self, T):
        """``Σ (t − mean)²`` over every process's targets (Chan et al.'s pairwise update)."""
        T = np.asarray(T, dtype=np.float64)
        n = T.shape[0]
        mean = T.mean(axis=0) if n else np.zeros(T.shape[1])
        m2 = ((T - mean) ** 2).sum(axis=0) if n else np.zeros(T.shape[1])
        parts = self.allgather(np.concatenate([[n], mean, m2]), "the exchange of the targets")
        n_all, mean_all, m2_all = 0.0, np.zeros(T.shape[1]), np.zeros(T.shape[1])
        for row in parts:
            nb, mb, m2b = row[0], row[1:1 + T.shape[1]], row[1 + T.shape[1]:]
            if nb == 0:
                continue
            d = mb - mean_all
            tot = n_all + nb
            m2_all = m2_all + m2b + d * d * n_all * nb / tot
            mean_all = mean_all + d * nb / tot
            n_all = tot
        return float(m2_all.sum())

    def epoch_logs(self, net, total, n_global, score, n_local, validation):
        """The epoch's loss and metric, and the validation metrics, over every process."""
        metric = net.metric_name
        self._average_buffers(net)
        logs = {"loss": total / n_global}
        Xv, Tv, labels_v = validation
        sums = np.zeros(7)
        if metric == "accuracy":
            sums[0] = round(score.value() * n_local)
        elif metric == "r2":
            sums[0] = score.a
        if Xv is not None:
            val = net.measure(Xv, Tv, labels_v)
            nv = Xv.shape[0]
            data = val["loss"] - self._l2_term(net, self._decayed(net))
            sums[1] = data * nv if net.reduction == "mean" else data
            sums[2] = nv
            if "accuracy" in val:
                sums[3] = round(val["accuracy"] * nv)
            if "mse" in val:
                sums[4] = val["mse"] * Tv.size
        self.allreduce(sums, what="the reduction of the epoch's metrics")
        if metric == "accuracy":
            logs[metric] = sums[0] / n_global
        elif metric == "r2":
            sst = self._train_sst
            logs[metric] = 1.0 - sums[0] / sst if sst > 0 else float("nan")
        if Xv is not None:
            nv = sums[2]
            loss = sums[1] / nv if net.reduction == "mean" else sums[1]
            logs["val_loss"] = loss + self._l2_term(net, self._decayed(net))
            if metric == "accuracy":
                logs["val_accuracy"] = sums[3] / nv
            elif metric == "r2":
                logs["val_r2"] = 1.0 - sums[4] / self._val_sst if self._val_sst > 0 \
                    else float("nan")
        return logs

    def check_identical(self, net):
        """Raise on every process if the processes' weights differ (a CRC-32 of each)."""
        crc = zlib.crc32(np.ascontiguousarray(net.store.data).view(np.uint8))
        crcs = self.allgather(np.array([crc], dtype=np.int64), "the check of the weights")[:, 0]
        if (crcs != crcs[0]).any():
            raise DistributedError(f"the processes' weights differ after training (CRC-32 "
                               f"{[hex(int(c)) for c in crcs]}): the MPI library's reduction "
                               f"did not give every process the same sums")

    def guard(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``; an error that may have happened on this process only
        ends the job with its message (the other processes would wait for it forever).
        A divergence is decided on the reduced loss, the same everywhere: it is raised."""
        from .training import TrainingDiverged

        previous = self._catch_interrupts()
        try:
            return fn(*args, **kwargs)
        except (TrainingDiverged, KeyboardInterrupt):
            raise
        except Exception as exc:
            self.abort(f"training failed: {type(exc).__name__}: {exc}; ending the job")
            raise  # not reached: Abort ends the process
        finally:
            self._interrupted = False
            if previous is not None:
                import signal

                signal.signal(signal.SIGINT, previous)

    def _catch_interrupts(self):
        """While training, Ctrl-C (which mpiexec passes to every process, each at its own
        moment) only raises a flag; the next gradient all-reduce carries it, so that every
        process stops at the same step, with no collective left pending (MPICH's "pending
        references" at exit) and the same weights. A second Ctrl-C interrupts at once.
        Returns the previous handler (None off the main thread, where none is set)."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return None

        def on_interrupt(signum, frame):
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True

        return signal.signal(signal.SIGINT, on_interrupt)
