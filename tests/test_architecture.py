"""Data flows one way: kernels -> core -> nn -> optim/utils/vision -> tools/cli (STYLE.md)."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "tatamikomi"
LAYERS = {                      # top-level module or package -> layer; lower layers come first
    "backends": 0, "kernels": 0,
    "dtypes": 1, "device": 1, "random": 1, "autograd": 1, "tensor": 1, "ops": 1,
    "creation": 1, "functions": 1, "_print": 1, "_parse": 1, "serialization": 1, "__init__": 1,
    "_tensor_draws": 1, "_tensor_more": 1,
    "_settings": 1, "accelerator": 1, "amp": 1, "jit": 1, "multiprocessing": 1,
    "safetensors": 1, "distributed": 1,
    "nn": 2,
    "optim": 3, "utils": 3, "vision": 3, "onnx": 3, "hub": 3,
    "tools": 4, "cli": 4, "__main__": 4,
}


def owner(path):
    rel = path.relative_to(PKG).parts
    return rel[0] if len(rel) > 1 else path.stem


def imported(path):
    """The tatamikomi top-level names a module imports (relative or absolute)."""
    tree = ast.parse(path.read_text())
    depth = len(path.relative_to(PKG).parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:                                   # from ..x import y
                up = node.level - 1
                if up > depth:
                    continue
                base = list(path.relative_to(PKG).parts[:depth - up])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [a.name for a in node.names]
            elif node.module and node.module.split(".")[0] == "tatamikomi":
                parts = node.module.split(".")[1:]
                names = [parts[0]] if parts else [a.name for a in node.names]
            else:
                continue
            yield from (n for n in names if n in LAYERS)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "tatamikomi" and len(parts) > 1 and parts[1] in LAYERS:
                    yield parts[1]


FILES = sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PKG)) for p in FILES])
def test_no_upward_imports(path):
    me = owner(path)
    assert me in LAYERS, f"{me} has no layer: add it to LAYERS"
    # the package __init__ re-exports everything; tensor.py's import of ops is the one
    # back-edge inside the core (x + y must find the ops)
    if me == "__init__":
        return
    for name in imported(path):
        assert LAYERS[name] <= LAYERS[me], f"{path.relative_to(PKG)} imports {name} (upward)"


def _module(path):
    """Dotted name of a file in the package: tatamikomi/ops/__init__.py -> tatamikomi.ops."""
    parts = ("tatamikomi",) + path.relative_to(PKG).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _edges(path, modules):
    """The package modules that path imports anywhere in the file (functions included)."""
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:          # `from . import ops` imports a module
                sub = f"{target}.{alias.name}"
                yield sub if sub in modules else target
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def _cycles():
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    modules = {_module(p): p for p in FILES}
    graph = {m: {t for t in _edges(p, modules) if t in modules and t != m}
             for m, p in modules.items()}
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_one_import_cycle_is_tensor_and_ops():
    # STYLE.md's one back-edge: the bottom of tensor.py imports ops, whose functions build
    # Tensors; x + y must find them. The autograd engine sits below tensor.py and imports nothing
    # of it, so every other import in the package, function-level ones included, points one way.
    (cycle,) = _cycles()
    assert {"tatamikomi.tensor", "tatamikomi.ops"} <= cycle
    assert all(m == "tatamikomi.tensor" or m.startswith("tatamikomi.ops") for m in cycle), cycle


# Core (tatamikomi/*.py), ops and nn together: the part a reader should be able to hold in
# their head (STYLE.md). 12,700 lines at the end of the session that set it; the README's
# "Size" paragraph says what it buys. Raising it is a decision for a commit message.
LINE_BUDGET = 14_000


def test_core_ops_and_nn_stay_within_their_line_budget():
    files = list(PKG.glob("*.py")) + list((PKG / "ops").rglob("*.py")) + \
        list((PKG / "nn").rglob("*.py"))
    lines = sum(len(f.read_text().splitlines()) for f in files)
    assert lines <= LINE_BUDGET, f"core + ops + nn: {lines} lines, over the {LINE_BUDGET} budget"
