"""Figures: written, decodable, of the right kind; bad input named."""

import matplotlib.image as mpimg
import numpy as np
import pytest

import deltaprop as dp
from deltaprop import plots


@pytest.fixture(scope="module")
def trained():
    X, y = dp.datasets.make_moons(200, noise=0.1, seed=0)
    net = dp.MLP([2, 16, 2], activation="tanh", output="softmax", loss="cross_entropy", seed=0)
    norms = dp.GradientNorms()
    hist = net.fit(X, y, epochs=15, verbose=0, seed=0, validation_split=0.2, callbacks=[norms],
                   optimizer=dp.optimizers.Adam(lr=0.02))
    return net, X, y, hist, norms


def _png(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    assert img[..., :3].std() > 0.05  # not a blank canvas
    return img


def test_learning_curves(trained, tmp_path):
    *_, hist, _ = trained
    _png(plots.learning_curves(hist, tmp_path / "lc.png"))
    _png(plots.learning_curves(hist.history, tmp_path / "lc2.png", title="moons"))


def test_decision_boundary(trained, tmp_path):
    net, X, y, *_ = trained
    _png(plots.decision_boundary(net, X, y, tmp_path / "db.png"))
    with pytest.raises(ValueError, match=r"needs 2-D inputs, got shape \(200, 3\)"):
        plots.decision_boundary(net, np.hstack([X, X[:, :1]]), y, tmp_path / "x.png")


def test_confusion_matrix(trained, tmp_path):
    net, X, y, *_ = trained
    _png(plots.confusion_matrix(y, net.predict(X), tmp_path / "cm.png"))


def test_gradient_norms(trained, tmp_path):
    *_, norms = trained
    assert np.shape(norms.norms) == (15, 2) and np.all(np.asarray(norms.norms) > 0)
    _png(plots.gradient_norms(norms, tmp_path / "gn.png"))


def test_suffix_picks_the_format(trained, tmp_path):
    *_, hist, _ = trained
    path = plots.learning_curves(hist, tmp_path / "lc.svg")
    assert path.read_text().lstrip().startswith("<?xml")
