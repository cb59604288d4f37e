"""The code's shape, guarded: no import circles among lenet_core's and the pages' modules (type-only
imports and imports inside functions count), at most MAX_DEPTH modules in any import chain, no
long function or page script, no long file."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lenet_core", "pages")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def import_graph(sources: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports anywhere in its body. A package's __init__
    importing its own submodules is not counted (that is how a package exposes them)."""
    graph = {}
    for name, path in sources.items():
        is_pkg = path.name == "__init__.py"
        package = name.split(".") if is_pkg else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                prefix = ".".join(base + ([node.module] if node.module else []))
                targets |= {f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in sources else prefix
                            for a in node.names}
        graph[name] = {t for t in targets if t in sources and t != name
                       and not (is_pkg and t.startswith(name + "."))}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

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
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_no_import_circles():
    graph = import_graph(_sources())
    assert "lenet_core.runs.store" in graph["lenet_core.runs.runner"]  # the graph is really read
    assert circles(graph) == []


MAX_DEPTH = 8  # modules in the longest import chain, from the CLI or a page down to the bottom


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest import chain, as the modules along it (top first). A circle is cut where it
    closes (test_no_import_circles reports circles)."""
    memo: dict[str, list[str]] = {}

    def chain(v: str, path: frozenset[str]) -> list[str]:
        if v not in memo:
            below = [chain(w, path | {v}) for w in sorted(graph[v]) if w not in path]
            memo[v] = [v, *max(below, key=len, default=[])]
        return memo[v]

    return max((chain(v, frozenset()) for v in sorted(graph)), key=len, default=[])


def test_the_chain_finder_finds_the_longest_chain():
    graph = {"cli": {"a", "d"}, "a": {"b"}, "b": {"c"}, "c": set(), "d": {"c"}}
    assert longest_chain(graph) == ["cli", "a", "b", "c"]


def test_imports_are_at_most_max_depth_deep():
    sources = {**_sources(), "app": ROOT / "app.py"}
    graph = import_graph(sources)
    assert "lenet_core.config" in graph["lenet_core.model"]  # the graph is really read
    chain = longest_chain(graph)
    assert len(chain) <= MAX_DEPTH, f"{len(chain)} levels: {' -> '.join(chain)}"


MAX_BODY = 60  # lines in a function, or in a page script's top level
MAX_FILE = 350  # lines in a source file


def _top_level_span(tree: ast.Module) -> int:
    """The lines a page script runs at its top level: everything but imports, definitions,
    docstrings and constants."""
    def counted(node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            return False
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
            return not isinstance(node.value, ast.Constant)
        return True
    return sum(n.end_lineno - n.lineno + 1 for n in tree.body if counted(n))


def long_bodies(path: Path, page: bool) -> list[str]:
    """The functions in `path` longer than MAX_BODY lines, and its top level when it is a page
    script that runs more than MAX_BODY lines there."""
    tree = ast.parse(path.read_text())
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = [f"{where}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
             for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.end_lineno - n.lineno + 1 > MAX_BODY]
    if page and (span := _top_level_span(tree)) > MAX_BODY:
        found.append(f"{where}: top level ({span} lines)")
    return found


def test_the_body_measure_counts_functions_and_page_scripts(tmp_path):
    script = tmp_path / "page.py"
    script.write_text('"""A page."""\nimport streamlit as st\nX = 1\n\n\ndef f():\n'
                      + "    pass\n" * MAX_BODY + "\n" + "st.write(1)\n" * (MAX_BODY + 1))
    assert long_bodies(script, page=True) == [f"page.py:6 f ({MAX_BODY + 1} lines)",
                                              f"page.py: top level ({MAX_BODY + 1} lines)"]
    assert long_bodies(script, page=False) == [f"page.py:6 f ({MAX_BODY + 1} lines)"]


def test_no_function_or_page_script_is_long():
    sources = _sources()
    assert "pages.inspect" in sources and "lenet_core.engine" in sources  # both trees are read
    pages = {ROOT / "app.py"} | {p for p in (ROOT / "pages").glob("*.py")}
    found = [line for path in [*sources.values(), ROOT / "app.py"]
             for line in long_bodies(path, page=path in pages)]
    assert found == []


def test_no_source_file_is_long():
    sizes = {str(p.relative_to(ROOT)): p.read_text().count("\n")
             for p in [*_sources().values(), ROOT / "app.py"]}
    assert sizes["pages/inspect.py"] > 0  # the files are really read
    assert {path: n for path, n in sizes.items() if n > MAX_FILE} == {}
