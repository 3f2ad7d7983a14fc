"""The scripts in examples/ run as a reader runs them, and write their files into the working
directory (or the directory given after the script's name), never into the repository."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "explain_worked_example.py": ["worked_example_trace.tex"],
    "gradient_descent.py": ["gradient_descent.png"],
    "vanishing_gradients.py": ["vanishing_gradients.png", "diagnostics_sigmoid.png",
                               "diagnostics_relu.png"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(EXAMPLES)


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run(script, cwd, *args):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=cwd,
                          check=False,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_an_example_writes_into_the_working_directory(script, tmp_path):
    if script != "explain_worked_example.py":
        pytest.importorskip("matplotlib")
    before = snapshot(ROOT / "docs")
    proc = run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(EXAMPLES[script])
    assert all((tmp_path / name).stat().st_size > 1000 for name in EXAMPLES[script])
    assert snapshot(ROOT / "docs") == before  # the docs' own figures are left as they are


def test_an_example_writes_into_the_directory_given(tmp_path):
    out = tmp_path / "figures"
    out.mkdir()
    proc = run("explain_worked_example.py", tmp_path, str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [p.name for p in tmp_path.iterdir()] == ["figures"]
    text = (out / "worked_example_trace.tex").read_text()
    assert text.startswith("\\documentclass") and f"wrote {out}" in proc.stdout
