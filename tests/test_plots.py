"""Figures: matplotlib's shape (ax=, optional path, a Figure back, the backend untouched),
written and decodable, sized for any number of classes; bad input named."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.image as mpimg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import deltaprop as dp  # noqa: E402
from deltaprop import plots  # noqa: E402


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


def test_each_function_writes_to_path_and_returns_the_figure(trained, tmp_path):
    net, X, y, hist, norms = trained
    figs = {
        "lc": plots.learning_curves(hist, tmp_path / "lc.png"),
        "lc2": plots.learning_curves(hist.history, tmp_path / "lc2.png", title="moons"),
        "db": plots.decision_boundary(net, X, y, tmp_path / "db.png"),
        "cm": plots.confusion_matrix(y, net.predict(X), tmp_path / "cm.png"),
        "gn": plots.gradient_norms(norms, tmp_path / "gn.png"),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure), name
        _png(tmp_path / f"{name}.png")
    assert len(figs["lc"].axes) == 2 and figs["lc"].axes[1].get_ylabel() == "accuracy"


def test_draws_into_the_callers_axes_and_never_changes_the_backend(trained, tmp_path):
    import matplotlib.pyplot as plt

    net, X, y, hist, norms = trained
    before = matplotlib.get_backend()
    plt.close("all")  # figures other tests left open
    fig, axes = plt.subplots(2, 3)
    try:
        assert plots.learning_curves(hist, ax=axes[0, :2]) is fig
        assert plots.decision_boundary(net, X, y, ax=axes[0, 2]) is fig
        assert plots.confusion_matrix(y, net.predict(X), ax=axes[1, 0]) is fig
        assert plots.gradient_norms(norms, ax=axes[1, 1]) is fig
        assert plots.learning_curves(hist, ax=axes[1, 2]) is fig   # one Axes: the loss only
        assert axes[0, 0].get_title() == "loss" and axes[0, 1].get_title() == "accuracy"
        assert len(axes[0, 2].collections) > 0 and len(axes[1, 0].images) == 1
        assert len(axes[1, 1].lines) == 2 and axes[1, 2].get_title() == "loss"
        assert plt.gcf() is fig and len(plt.get_fignums()) == 1    # no figure of our own
    finally:
        plt.close("all")
    assert matplotlib.get_backend() == before


def test_without_ax_a_path_gives_a_standalone_figure_and_no_path_a_pyplot_one(trained, tmp_path):
    import matplotlib.pyplot as plt

    *_, hist, _ = trained
    plt.close("all")
    plots.learning_curves(hist, tmp_path / "a.png")
    assert plt.get_fignums() == []                  # nothing left to close
    fig = plots.learning_curves(hist)
    assert plt.get_fignums() == [fig.number]        # shown like any pyplot figure
    plt.close("all")


def test_importing_never_switches_the_backend():
    code = ("import matplotlib; matplotlib.use('svg'); import deltaprop as dp; "
            "import numpy as np; "
            "dp.plots.confusion_matrix(np.array([0, 1]), np.array([0, 0])); "
            "print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "svg"


@pytest.mark.parametrize("k", [2, 3, 10, 26])
def test_confusion_matrix_fits_any_number_of_classes(k, tmp_path):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, k, 300))
    names = [f"class {chr(65 + i)}" for i in range(k)]
    fig = plots.confusion_matrix(y, p, tmp_path / "cm.png", labels=range(k), display_labels=names,
                                 title="test confusion matrix")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    title = ax.get_title()
    assert title.startswith("test confusion matrix\naccuracy ")
    acc = np.mean(y == p)
    assert f"{acc:.3f}" in title
    # the title and the tick labels lie inside the canvas (nothing cut)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    W, H = canvas.get_width_height()
    for artist in [ax.title, *ax.get_xticklabels(), *ax.get_yticklabels()]:
        box = artist.get_window_extent(renderer)
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= W + 1 and box.y1 <= H + 1, \
            (artist.get_text(), box, (W, H))
    _png(tmp_path / "cm.png")


def _texts_inside_the_canvas(fig):
    """Everything drawn (titles, labels, tick labels, legends) lies inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer())   # inches, drawn artists only
    w, h = fig.get_size_inches()
    assert box.x0 >= -0.01 and box.y0 >= -0.01 and box.x1 <= w + 0.01 and box.y1 <= h + 0.01, \
        (box, (w, h))


@pytest.mark.parametrize("title", [None, "moons, 15 epochs"])
def test_fixed_margin_figures_cut_nothing(trained, tmp_path, title):
    *_, hist, norms = trained
    _texts_inside_the_canvas(plots.learning_curves(hist, tmp_path / "a.png", title=title))
    loss_only = {"loss": hist["loss"], "val_loss": hist["val_loss"]}
    _texts_inside_the_canvas(plots.learning_curves(loss_only, tmp_path / "b.png", title=title))
    big = np.asarray(norms.norms) * 1e-7   # long tick labels on the log axis
    _texts_inside_the_canvas(plots.gradient_norms(big, tmp_path / "c.png"))


def test_class_names_in_the_confusion_matrix_and_the_boundary(trained):
    net, X, y, *_ = trained
    fig = plots.confusion_matrix(["setosa", "virginica"], ["setosa", "setosa"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["setosa", "virginica"]
    fig = plots.decision_boundary(net, X, y, display_labels=["inner", "outer"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["inner", "outer"]
    import matplotlib.pyplot as plt
    plt.close("all")


def test_bad_input_is_named(trained, tmp_path):
    net, X, y, hist, _ = trained
    with pytest.raises(ValueError, match=r"needs 2-D inputs, got shape \(200, 3\)"):
        plots.decision_boundary(net, np.hstack([X, X[:, :1]]), y, tmp_path / "x.png")
    with pytest.raises(ValueError, match="display_labels has 3 names but there are 2 classes"):
        plots.confusion_matrix([0, 1], [1, 0], display_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="labels not in `labels`: 2"):
        plots.confusion_matrix([0, 1, 2], [1, 0, 0], labels=[0, 1])
    with pytest.raises(ValueError, match="one shape"):
        plots.confusion_matrix([0, 1, 2], [1, 0])
    with pytest.raises(ValueError, match="'loss' list"):
        plots.learning_curves({})
    with pytest.raises(ValueError, match=r"\(n_epochs, n_layers\)"):
        plots.gradient_norms(np.zeros(3))
    assert not (tmp_path / "x.png").exists()


def test_suffix_picks_the_format(trained, tmp_path):
    *_, hist, _ = trained
    plots.learning_curves(hist, tmp_path / "lc.svg")
    assert (tmp_path / "lc.svg").read_text().lstrip().startswith("<?xml")


def test_history_plots_itself_and_shows_in_a_notebook(trained):
    *_, hist, _ = trained
    png = hist._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert hist.plot(ax=ax) is fig and ax.get_title() == "loss"
    plt.close("all")
    assert dp.History()._repr_png_() is None


def test_dp_plots_is_there_after_import_deltaprop_without_matplotlib_imported():
    code = ("import sys, deltaprop as dp; assert 'matplotlib' not in sys.modules; "
            "m = dp.plots; assert 'matplotlib' not in sys.modules; print(m.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "deltaprop.plots"


def test_a_figure_replaces_an_earlier_one_only_once_on_the_disk(trained, tmp_path, monkeypatch):
    """Written as model files are: a Ctrl-C before the new figure is on the disk (at its
    fsync) leaves the earlier file whole; no temporary file is left."""
    import os

    *_, hist, _ = trained
    target = tmp_path / "lc.png"
    target.write_bytes(b"old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plots.learning_curves(hist, target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["lc.png"]


def test_a_name_without_extension_gets_matplotlibs_default_format(trained, tmp_path):
    *_, hist, _ = trained
    plots.learning_curves(hist, tmp_path / "lc")
    assert [p.name for p in tmp_path.iterdir()] == [f"lc.{matplotlib.rcParams['savefig.format']}"]
