"""The README's Python examples run as written.

Every ```python block of README.md runs, in order, in one namespace, in a
temporary directory (the examples write model files). A block that needs data
outside the repository (MNIST) is skipped when the data are absent; a block can
opt out by starting with ``# excerpt`` (code quoted from the package). A block that
starts with ``# GPU`` runs on the GPU where CuPy finds one, and elsewhere on the strict
device (``device="strict"``: the same code path, on NumPy arrays).
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks():
    return [b for b in BLOCK.findall(README.read_text(encoding="utf-8"))
            if not b.startswith("# excerpt")]


def _gpu():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no CuPy, no driver, no device: no GPU
        return False


def test_readme_has_python_examples():
    assert len(_blocks()) >= 2


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "readme"}
    for i, block in enumerate(_blocks()):
        if block.startswith("# GPU") and not _gpu():
            block = block.replace('device="cuda"', 'device="strict"')
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README python block {i + 1} failed: {exc!r}\n{block}")
