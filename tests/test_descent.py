"""Seed 001's gradient descent example: iterates, stability limit, optimizers, figure, CLI."""

import subprocess
import sys

import numpy as np
import pytest

from deltaprop import descent
from deltaprop.optimizers import SGD, Adam, Momentum


@pytest.mark.parametrize("eta", descent.SEED_ETAS + (0.5, 0.7))
def test_iterates_follow_the_closed_form(eta):
    start = (-2.5, 2.0)
    path = descent.descend(eta, start, steps=40)
    k = np.arange(41)
    np.testing.assert_allclose(path[:, 0], (1 - 3 * eta) ** k * start[0], rtol=1e-12)
    np.testing.assert_allclose(path[:, 1], (1 - 2 * eta) ** k * start[1], rtol=1e-12)
    np.testing.assert_allclose(path, descent.closed_form(eta, start, 40), rtol=1e-12)


def test_stability_limit_two_thirds():
    for eta, converges in ((0.6, True), (0.665757, True), (0.67, False), (0.9, False)):
        with np.errstate(over="ignore", invalid="ignore"):  # the divergent runs overflow
            end = descent.descend(eta, (1.0, 1.0), steps=2000)[-1]
        assert (np.abs(end).max() < 1e-2) == converges, eta
    assert "converges" in descent.stability(0.665757) and "-0.997271" in descent.stability(0.665757)
    assert "diverges" in descent.stability(0.7)
    # the x factor oscillates: sign alternates at eta = 0.665757
    x = descent.descend(0.665757, (1.0, 1.0), steps=4)[:, 0]
    assert np.all(np.sign(x) == [1, -1, 1, -1, 1])


def test_optimizers_on_the_same_function():
    start = np.array([-2.5, 2.0])
    # plain SGD is gradient descent
    np.testing.assert_allclose(descent.optimizer_path(SGD(lr=0.1), start, 10),
                               descent.descend(0.1, start, 10), rtol=1e-14)
    # momentum by hand: Δ ← μΔ + ∇f, θ ← θ − ηΔ (seed 002's form)
    theta, vel = start.copy(), np.zeros(2)
    for _ in range(3):
        vel = 0.8 * vel + descent.grad_f(theta)
        theta = theta - 0.05 * vel
    np.testing.assert_allclose(descent.optimizer_path(Momentum(lr=0.05, momentum=0.8), start, 3)[-1],
                               theta, rtol=1e-14)
    # Adam's first step has length ≈ lr in every coordinate (m̂/√v̂ = sign(g))
    p = descent.optimizer_path(Adam(lr=0.3), start, 1)
    np.testing.assert_allclose(p[1] - p[0], [0.3, -0.3], rtol=1e-6)


def test_table_lists_the_iterates_and_the_explanation():
    table = descent.iterate_table(steps=30)
    assert "eta = 0.665757" in table and "(1 - 3 eta)" in table and "eta < 2/3" in table
    row1 = next(line for line in table.splitlines() if line.strip().startswith("1 "))
    # k = 1, eta = 0.1: x = 0.7 * -2.5 = -1.75, y = 0.8 * 2 = 1.6
    assert "-1.75" in row1 and "1.6" in row1
    with pytest.raises(ValueError, match="positive"):
        descent.descend(0.0)
    with pytest.raises(ValueError, match="two finite numbers"):
        descent.descend(0.1, (1.0, 2.0, 3.0))


def test_plot_and_cli(tmp_path):
    pytest.importorskip("matplotlib")
    descent.plot_descent(tmp_path / "d.png", steps=10)
    assert (tmp_path / "d.png").stat().st_size > 10_000
    proc = subprocess.run([sys.executable, "-m", "deltaprop", "descent", "--steps", "5",
                           "--plot", "cli.png"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "eta = 0.665757" in proc.stdout and (tmp_path / "cli.png").stat().st_size > 10_000
    bad = subprocess.run([sys.executable, "-m", "deltaprop", "descent", "--start", "1,2,3"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--start needs two numbers" in bad.stderr
