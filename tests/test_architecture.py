"""The package's seams: no module calls another module's private names, no import cycles.

Each module may use the private names (leading underscore) it defines itself; everything a
module needs from another is public there. Checked on the source with ``ast``.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deltaprop"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_names(tree):
    """Every name the module defines: functions, classes, assigned names and attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def private_uses(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    own = defined_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
            found.append((node.lineno, f".{node.attr}"))
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if is_private(alias.name):
                    found.append((node.lineno, f"from {node.module or '.'} import {alias.name}"))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_uses_another_modules_private_names(path):
    found = private_uses(path)
    assert not found, f"{module_name(path)} uses private names of other modules: {found}"


def imports_of(path):
    """The deltaprop modules that ``path`` imports, at any level (functions included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for c in candidates:
            if c.startswith("deltaprop") and c != name and (c in KNOWN):
                out.add(c)
    return out


KNOWN = {module_name(p) for p in MODULES}


def test_no_import_cycles():
    graph = {module_name(p): imports_of(p) for p in MODULES}
    # A package's __init__ importing its own submodules is how packages work; what may not
    # happen is a submodule reaching back into a module that (indirectly) imports it.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".") and t != "deltaprop"}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def find_cycle(graph):
    """A list of nodes forming a cycle in ``graph`` (node -> set of nodes), or None."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_checks_can_fail(tmp_path):
    """The private-name rule flags a cross-module private call and a private import."""
    bad = tmp_path / "bad.py"
    bad.write_text("from .network import _helper\n\ndef f(net):\n    return net._loss()\n")
    assert [what for _, what in private_uses(bad)] == ["from network import _helper", "._loss"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
