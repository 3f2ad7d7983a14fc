"""mypy over the package, with the project's configuration ([tool.mypy] in pyproject.toml):
an annotation that contradicts the code fails the suite."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")
ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_over_the_package():
    env = dict(os.environ)  # mypy's incremental cache (.mypy_cache/) makes a rerun quick
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file",
                           str(ROOT / "pyproject.toml"), str(ROOT / "src" / "deltaprop")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Success" in proc.stdout


def test_the_package_says_it_is_typed():
    assert (ROOT / "src" / "deltaprop" / "py.typed").is_file()
