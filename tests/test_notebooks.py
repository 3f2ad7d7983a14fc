"""The notebooks in notebooks/ run from top to bottom (nbclient, a real kernel): a cell that
raises fails the suite. They are stored without outputs; their own asserts check the numbers."""

import json
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
SRC = Path(__file__).resolve().parents[1] / "src"


def test_there_are_the_five_notebooks():
    assert NAMES == ["backprop_by_hand.ipynb", "digits_estimators.ipynb", "mnist_engine.ipynb",
                     "teaching_exercises.ipynb", "vanishing_gradient.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]


def execute(name, tmp_path, monkeypatch):
    """Run a notebook in notebooks/ as its working directory; the executed notebook."""
    # the kernel imports this checkout's deltaprop, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(SRC)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    nbformat.write(nb, tmp_path / name)
    stderr = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("name") == "stderr"]
    assert not stderr, f"{name} writes to stderr (a warning in the rendered page):\n{stderr}"
    return nb


def outputs(nb, mime):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if mime in o.get("data", {})]


def stdout(nb):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.get("name") == "stdout")


def test_backprop_by_hand(tmp_path, monkeypatch):
    nb = execute("backprop_by_hand.ipynb", tmp_path, monkeypatch)
    text = stdout(nb)
    assert "J = 1.125" in text and "gradcheck: PASS" in text
    md = outputs(nb, "text/markdown")
    assert md and "1.125" in md[-1]["data"]["text/markdown"]  # the trace, rendered


def test_teaching_exercises(tmp_path, monkeypatch):
    nb = execute("teaching_exercises.ipynb", tmp_path, monkeypatch)
    text = stdout(nb)
    assert "first wrong step: ② of layer 2, delta2: σ' written as σ" in text
    assert "30 different problems" in text and "J = 1.125" in text
    md = outputs(nb, "text/markdown")
    assert md and "What to compute" in md[0]["data"]["text/markdown"]   # the sheet, rendered


def test_vanishing_gradient(tmp_path, monkeypatch):
    nb = execute("vanishing_gradient.ipynb", tmp_path, monkeypatch)
    assert len(outputs(nb, "image/png")) == 2 and "first layer / output layer" in stdout(nb)


def test_digits_estimators(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    nb = execute("digits_estimators.ipynb", tmp_path, monkeypatch)
    assert "test accuracy" in stdout(nb) and len(outputs(nb, "image/png")) == 1


def test_mnist_engine(tmp_path, monkeypatch):
    nb = execute("mnist_engine.ipynb", tmp_path, monkeypatch)
    text = stdout(nb)
    if "MNIST is not here" in text:
        assert not outputs(nb, "image/png")  # every later cell stood down
        pytest.skip("MNIST is not in ../shared/datasets: the notebook said so and stopped")
    assert "accuracy" in text and len(outputs(nb, "image/png")) == 2


def run_mnist_setup_cell(work, monkeypatch):
    """The MNIST notebook's first code cell, run with ``work`` as its working directory;
    what it printed."""
    monkeypatch.setenv("PYTHONPATH", str(SRC))
    nb = nbformat.read(NOTEBOOKS / "mnist_engine.ipynb", as_version=4)
    nb.cells = [next(c for c in nb.cells if c.cell_type == "code")]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()
    return stdout(nb)


def fake_shared_datasets(where):
    """A ``shared/datasets`` in ``where`` that the notebook would take for MNIST's."""
    (where / "shared" / "datasets" / "mnist").mkdir(parents=True)


def test_mnist_notebook_stops_gracefully_without_the_data(tmp_path, monkeypatch):
    """DELTAPROP_MNIST names the one directory read: a shared/datasets anywhere above (here
    in tmp_path, which lies above the working directory) is not looked at."""
    fake_shared_datasets(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DELTAPROP_MNIST", str(empty))
    work = tmp_path / "repo" / "notebooks"
    work.mkdir(parents=True)
    (work.parent / "pyproject.toml").write_text("")
    text = run_mnist_setup_cell(work, monkeypatch)
    assert "MNIST is not here" in text and str(empty) in text, text


def test_mnist_notebook_looks_next_to_the_repository_only(tmp_path, monkeypatch):
    """Without DELTAPROP_MNIST: ../shared/datasets from the repository's root, not every
    parent directory's shared/datasets."""
    monkeypatch.delenv("DELTAPROP_MNIST", raising=False)
    fake_shared_datasets(tmp_path)  # two levels above the repository: not its neighbour
    work = tmp_path / "a" / "repo" / "notebooks"
    work.mkdir(parents=True)
    (work.parent / "pyproject.toml").write_text("")
    text = run_mnist_setup_cell(work, monkeypatch)
    assert "MNIST is not here" in text, text
    assert str(tmp_path / "a" / "shared" / "datasets") in text
    fake_shared_datasets(tmp_path / "a")  # next to the repository: read from there
    text = run_mnist_setup_cell(work, monkeypatch)
    assert f"reading MNIST from {tmp_path / 'a' / 'shared' / 'datasets'}" in text, text
