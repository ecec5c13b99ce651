"""The package's shape: no import cycles, dependencies pointing one way, no
imports hidden inside functions to dodge a cycle (docs/architecture.md).

The graph is read from the source with `ast`, as a newcomer would read it: an edge
for every import executed when a module is imported (module level, outside
``if TYPE_CHECKING:``), to the imported module and to every package that importing
it initialises.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import z6

PACKAGE_DIR = Path(z6.__file__).resolve().parent

# The layers, lowest first: a module may import its own layer and those below.
LAYERS = [
    {"z6._version", "z6.errors", "z6._child_env", "z6._signals", "z6._destinations"},
    {"z6.events"},
    {"z6.scenario"},
    {"z6.plan"},
    {"z6.result"},
    {"z6.metrics", "z6.assertions"},
    {"z6.log"},
    {"z6.live", "z6.serve"},
    {"z6.runner"},
    {"z6.distributed"},
    {"z6.analysis"},
    {"z6.report"},
    {"z6.run"},
    {"z6.cli", "z6.__main__", "z6", "z6._entry", "z6.pytest_plugin"},
]

# Imports inside functions that are there on purpose, each with its reason.
# Anything else inside a function that imports z6 is a cycle being dodged.
DEFERRED_IMPORTS = {
    # z6.log's names from before the analyses moved, resolved on first use (PEP 562).
    ("z6.log", "importlib"),
    # The package's names, loaded on first use (PEP 562), so that `import z6` costs
    # nothing and the command can handle a Ctrl-C before the package's imports.
    ("z6", "importlib"),
    # The command's entry point installs its interrupt handler first, then imports
    # the command line (and with it the package: ~0.3 s a Ctrl-C may fall in).
    ("z6._entry", "z6.cli"),
}


def _module_name(path: Path) -> str:
    parts = ["z6", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_time_nodes(body: list[ast.stmt]):
    """Import statements run when the module is imported (not in functions or
    classes' methods, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_nodes(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _import_time_nodes(node.body)


def _targets(module: str, node: ast.stmt, known: set[str]) -> set[str]:
    """The z6 modules an import statement loads."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            # Relative to the module's package (a package's __init__ is its own package).
            package = module.split(".") if _modules()[module].name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
    out = set()
    for name in names:
        if name in known:
            out.add(name)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        own = set(_ancestors(name)) | {name}
        edges = set()
        for node in _import_time_nodes(tree.body):
            for target in _targets(name, node, known):
                # Importing z6.a.b initialises z6.a first; a module's own packages
                # are already being initialised when it runs.
                for loaded in (*_ancestors(target), target):
                    if loaded in known and loaded not in own:
                        edges.add(loaded)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour[nxt] == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            found = visit(node)
            if found:
                return found
    return None


def _layer(module: str) -> int:
    for candidate in [module, *reversed(_ancestors(module))]:
        for rank, members in enumerate(LAYERS):
            if candidate in members:
                return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS (and docs/architecture.md)")


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    # The check itself must be able to fail.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_dependencies_point_down_the_layers():
    wrong = []
    for module, targets in import_graph().items():
        for target in targets:
            if _layer(target) > _layer(module):
                wrong.append(f"{module} imports {target} (a layer above it)")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_hides_inside_a_function():
    hidden = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = [node.module or ""]
                else:
                    continue
                for mod in mods:
                    if (mod == "z6" or mod.startswith("z6.") or mod == "importlib") and (name, mod) not in \
                            DEFERRED_IMPORTS:
                        hidden.append(f"{name}: {func.name}() imports {mod}")
    assert not hidden, "\n".join(hidden)


def test_the_version_has_one_home():
    # Modules read the version from the leaf module, never from the package.
    readers = []
    for name, path in _modules().items():
        if "z6.__version__" in path.read_text(encoding="utf-8") or "from z6 import __version__" in \
                path.read_text(encoding="utf-8"):
            readers.append(name)
    assert readers == []
    from z6._version import __version__

    assert z6.__version__ == __version__


@pytest.mark.parametrize("module, names", [
    ("z6", z6.__all__),
    ("z6.runner", ["iter_chunks", "run_plan", "make_engine", "RunStats", "ProgressSnapshot", "DEFAULT_CHUNK_RECORDS"]),
    ("z6.plan", ["Plan", "compile_plan", "original_profile_plan", "seed_profile_plan", "integer_weights", "WEIGHT_SCALE"]),
    ("z6core", ["PROFILE_SEED", "PROFILE_ORIGINAL", "sample_seed_f32", "sample_original_f32"]),
    # z6.log's names from before the analyses moved to z6.analysis
    ("z6.log", ["EventLogWriter", "read_log", "verify_log", "recompute_run", "analyze_log", "compile_filter",
                "diff_logs", "export_log", "parse_percentiles", "parse_thresholds", "VerifyResult", "EXPORT_FORMATS"]),
    ("z6.report", ["summary_document", "document_from_log", "write_html", "write_json"]),
    ("z6.cli", ["main", "build_parser"]),
])
def test_names_scripts_use_stay_importable(module, names):
    import importlib

    mod = importlib.import_module(module)
    for name in names:
        assert getattr(mod, name) is not None, f"{module}.{name}"


def test_moved_log_names_are_the_analysis_ones():
    import z6.analysis
    import z6.log

    assert z6.log.recompute_run is z6.analysis.recompute_run
    with pytest.raises(AttributeError):
        z6.log.no_such_name  # noqa: B018
