"""The package's shape (docs/architecture.md): no import cycles, no private names across modules.

The import graph is read from the source with `ast`, not by importing anything: every
`import framescope.x` and `from framescope.x import y` counts, at module level, inside
functions (a lazy import is still a dependency) and under `if TYPE_CHECKING:` (a type-only
import is a dependency too). `from framescope.x import y` is an edge to `framescope.x.y` when
`y` is a submodule, else to `framescope.x` (its `__init__.py`).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "framescope"

# Private names imported across modules that are tolerated for now: none.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]):
    """(target module, imported name or None, line) of every framescope import in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "framescope" or alias.name.startswith("framescope."):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod != "framescope" and not mod.startswith("framescope."):
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                if sub in known:
                    yield sub, None, node.lineno
                else:
                    yield mod, alias.name, node.lineno


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target, imported, _ in imports(path, name, known):
            if (name, target, imported) in KNOWN_PRIVATE_IMPORTS:
                continue
            while target not in known and "." in target:  # `import framescope.x.y` of a name
                target = target.rpartition(".")[0]
            if target in known and target != name:
                graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [one_cycle(graph, set(c)) for c in components]


def describe(graph: dict[str, set[str]], cycle: list[str]) -> str:
    """A cycle as `a -> b -> a`, plus every other module caught in it (its component)."""
    component = {v for v in graph if v in cycle or (reaches(graph, cycle[0], v) and reaches(graph, v, cycle[0]))}
    others = sorted(component - set(cycle))
    return " -> ".join(cycle) + (f"   (also in this knot: {', '.join(others)})" if others else "")


def reaches(graph: dict[str, set[str]], a: str, b: str) -> bool:
    seen, todo = {a}, [a]
    while todo:
        for w in graph[todo.pop()]:
            if w == b:
                return True
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return False


def one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a path a -> ... -> a."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(component)


def test_the_graph_sees_lazy_and_submodule_imports():
    graph = import_graph()
    assert "framescope.cli" in graph and "framescope.themes.model" in graph
    # cli imports everything inside its commands: those function-level imports are edges
    assert any(t.startswith("framescope.engines") for t in graph["framescope.cli"])
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(graph, c) for c in cycles)


def test_no_private_names_imported_from_other_modules():
    mods = modules()
    known = set(mods)
    found = []
    for name, path in mods.items():
        for target, imported, line in imports(path, name, known):
            privates = [p for p in target.split(".") if p.startswith("_") and p != "__init__"]
            if imported and imported.startswith("_"):
                privates.append(imported)
            if privates and target != name and (name, target, imported) not in KNOWN_PRIVATE_IMPORTS:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}: {', '.join(privates)}")
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_known_exceptions_still_exist():
    """The allow-list names only imports that are really there (remove an entry once it is fixed)."""
    mods = modules()
    seen = {(n, t, i) for n, p in mods.items() for t, i, _ in imports(p, n, set(mods))}
    assert KNOWN_PRIVATE_IMPORTS <= seen, sorted(KNOWN_PRIVATE_IMPORTS - seen)


# The data flow, bottom to top: a module may import from its own layer or a lower one, never from
# a higher one (docs/architecture.md, "Dependency direction"); within a layer the cycle test rules.
LAYERS = (
    ("framescope", "errors", "config", "artifacts", "numba_cache", "processes"),
    ("ingest",),
    ("embed", "reuse"),
    ("themes",),
    ("measures", "validate"),
    ("report",),
    ("engines",),
    ("app",),
    ("cli",),
)


def part(module: str) -> str:
    """The top-level part of the package a module belongs to (`ingest`, `config`, ...)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_part_of_the_package_has_a_layer():
    layered = {p for layer in LAYERS for p in layer}
    assert {part(m) for m in modules()} <= layered, sorted({part(m) for m in modules()} - layered)


def test_imports_point_down_the_data_flow():
    rank = {p: i for i, layer in enumerate(LAYERS) for p in layer}
    graph = import_graph()
    wrong = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                   if rank[part(b)] > rank[part(a)])
    assert not wrong, "imports against the data flow:\n" + "\n".join(wrong)
