"""The README's Python examples run as written.

Every ```python block of README.md runs, in order, in one namespace, in a
temporary directory (the examples write model files). A block that needs data
outside the repository (MNIST) is skipped when the data are absent; a block can
opt out by starting with ``# excerpt`` (code quoted from the package).
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks():
    return [b for b in BLOCK.findall(README.read_text(encoding="utf-8"))
            if not b.startswith("# excerpt")]


def test_readme_has_python_examples():
    assert len(_blocks()) >= 2


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "readme"}
    for i, block in enumerate(_blocks()):
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README python block {i + 1} failed: {exc!r}\n{block}")
