"""One thread or several, chosen by measurement: for work large enough to split, both are
timed now and then and the faster is kept.

Why measure: on an idle machine two threads make a large product 1.3–1.7× faster, but when
another process keeps a core busy, work split over two threads waits for the descheduled
one: a product of 2.6·10⁸ multiply-adds took 32 ms on two threads against 6 ms on one (a
shared 2-core machine). No size threshold is right in both cases.

Each kind of work (a product's shape, a kernel's size) has a :class:`Choice`. It starts by
timing each option once, then runs the faster one; every ``interval`` runs it times the
other once more. When the other loses, the interval doubles (up to :data:`MAX_INTERVAL`), so
that a loaded machine pays a slow trial rarely; when it wins, it becomes the choice.
"""

from __future__ import annotations

__all__ = ["Choice", "choice_for", "PARALLEL_LOOPS", "parallel_loops_allowed",
           "allow_parallel_loops"]

#: Whether the kernels with a parallel loop (an optimizer's rule over a large store, the
#: gather of a large batch) may run it: set by :func:`deltaprop.kernels.parallel_loops`.
#: Off by default. Measured on 2 cores, training at 784-256-128-10 and 784-1024-1024-10
#: was no faster with them in steady state (ratios 0.998-1.02), while Numba's OpenMP
#: threads, spinning after each parallel loop, took the cores from OpenBLAS's: a
#: 128x784x256 product right after a parallel loop took 8.8 ms instead of 0.39 ms (with
#: ``OMP_WAIT_POLICY=PASSIVE`` 0.35 ms, but then training was no faster either).
PARALLEL_LOOPS = False


def parallel_loops_allowed():
    """:data:`PARALLEL_LOOPS`, read at each call."""
    return PARALLEL_LOOPS


def allow_parallel_loops(flag):
    """Set :data:`PARALLEL_LOOPS`; returns the setting before."""
    global PARALLEL_LOOPS
    previous, PARALLEL_LOOPS = PARALLEL_LOOPS, bool(flag)
    return previous

MIN_INTERVAL = 16
MAX_INTERVAL = 2048

_INF = float("inf")


class Choice:
    """The faster of two options (0: one thread, 1: several) for one kind of work."""

    __slots__ = ("seconds", "runs", "interval")

    def __init__(self):
        self.seconds = [_INF, _INF]  # the last trial, or the running average of the choice
        self.runs = 0  # runs of the choice since the last trial of the other option
        self.interval = MIN_INTERVAL

    def pick(self):
        """The option to run now."""
        s = self.seconds
        if s[0] == _INF:
            return 0
        if s[1] == _INF:
            return 1
        best = 0 if s[0] <= s[1] else 1
        self.runs += 1
        return 1 - best if self.runs >= self.interval else best

    def record(self, option, seconds):
        """How long the run of ``option`` took."""
        s = self.seconds
        if s[0] == _INF or s[1] == _INF:
            s[option] = seconds
            return
        best = 0 if s[0] <= s[1] else 1
        if option == best:
            s[option] = 0.75 * s[option] + 0.25 * seconds
            return
        self.runs = 0  # a trial of the other option
        s[option] = seconds
        self.interval = MIN_INTERVAL if seconds < s[best] else min(2 * self.interval,
                                                                    MAX_INTERVAL)


_CHOICES: dict = {}


def choice_for(key):
    """The :class:`Choice` for this kind of work (created on first use)."""
    c = _CHOICES.get(key)
    if c is None:
        c = _CHOICES[key] = Choice()
    return c
