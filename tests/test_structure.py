"""The package's shape: imports flow one way (no import circle; models import nothing from explain or evaluate),
and no function is longer than a screen (80 lines), read from the source with `ast`, not by importing it.

Imports inside functions count, and so do the lazy ones declared as data (a package's `_EXPORTS`, the registry's
`BUILT_IN`), which importlib performs."""
import ast

from conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "eyebench"
MAX_FUNCTION_LINES = 80


def module_name(path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name (a package by its own name), parsed."""
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _known(name: str, modules) -> str | None:
    """The longest prefix of a dotted name that is a module of the package."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def imported_modules(name: str, tree: ast.Module, modules) -> set[str]:
    """Package modules a module imports anywhere (module level or inside functions), relative imports resolved."""
    is_package = (PACKAGE / name.split(".", 1)[1].replace(".", "/") / "__init__.py").is_file() if "." in name else True
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {_known(a.name, modules) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] if node.level else [])
            target = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:  # `from . import plots` imports the module eyebench.evaluate.plots
                found.add(_known(f"{target}.{alias.name}", modules) or _known(target, modules))
    found |= {_known(m if m.startswith("eyebench") else ".".join(here + [m]), modules) for m in lazy_imports(tree)}
    return found - {None, name}


LAZY_TABLES = ("_EXPORTS", "BUILT_IN")  # {name: module} tables imported from by importlib (lazy exports, registry)


def lazy_imports(tree: ast.Module) -> set[str]:
    """Modules named in a lazy-import table: `_EXPORTS` (relative to the package) or the registry's `BUILT_IN`."""
    out = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(getattr(t, "id", None) in LAZY_TABLES for t in targets) and isinstance(node.value, ast.Dict):
            out |= {v.value for v in node.value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return out


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported_modules(name, tree, modules) for name, tree in modules.items()}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_import_parser_resolves_relative_and_nested_imports():
    modules = {"eyebench", "eyebench.models", "eyebench.models.base", "eyebench.explain", "eyebench.evaluate",
               "eyebench.evaluate.plots", "eyebench.config"}
    tree = ast.parse("from ..config import pct\nfrom . import base\ndef f():\n    from ..explain import x\n"
                     "    import eyebench.evaluate.plots\n    from ..evaluate import plots\n")
    assert imported_modules("eyebench.models.registry", tree, modules) == {
        "eyebench.config", "eyebench.models.base", "eyebench.explain", "eyebench.evaluate.plots"}
    lazy = ast.parse('_EXPORTS = {"x": "base"}\nBUILT_IN: dict = {"m": "eyebench.explain"}\n')
    assert imported_modules("eyebench.models", lazy, modules) == {"eyebench.models.base", "eyebench.explain"}
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle_in_the_package():
    circles = import_circles(import_graph())
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_models_import_nothing_from_explain_or_evaluate():
    bad = {f"{m} -> {t}" for m, targets in import_graph().items() if m.startswith("eyebench.models")
           for t in targets if t.startswith(("eyebench.explain", "eyebench.evaluate"))}
    assert not bad, sorted(bad)


def long_functions(path) -> list[str]:
    """`file:line name (N lines)` for every function whose body (docstring included) is longer than the limit."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.body[0].lineno + 1
            if lines > MAX_FUNCTION_LINES:
                out.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_longer_than_80_lines():
    files = sorted(PACKAGE.rglob("*.py")) + [REPO_ROOT / "app.py"]
    too_long = [f for path in files for f in long_functions(path)]
    assert not too_long, too_long


# The README's layer order (config -> faces -> data -> models -> explain / evaluate -> train -> workbench -> app / cli),
# with the modules it does not name placed where they belong; a module may import only from its own layer or below.
LAYERS = {
    "config": 0, "results": 0, "errors": 0, "lazy": 0, "threads": 0, "safezip": 0,
    "faces": 1,
    "data": 2, "samples": 2,
    "models": 3,
    "explain": 4, "evaluate": 4.5,  # evaluate shows explain's maps; explain never reads evaluate
    "train": 5, "export": 5, "video": 5,
    "workbench": 6,
    "app": 7, "cli": 7, "commands": 7, "formatters": 7, "bench": 7, "eye_finding": 7, "__main__": 8,
}


def layer_of(module: str) -> float | None:
    """The layer of a package module (None for the package's own lazy facade, eyebench/__init__.py)."""
    parts = module.split(".")
    return None if len(parts) == 1 else LAYERS[parts[1]]


def test_every_package_module_has_a_layer():
    unplaced = sorted({m.split(".")[1] for m in package_modules() if "." in m} - set(LAYERS))
    assert not unplaced, f"place these in LAYERS (tests/test_structure.py) and the README's order: {unplaced}"


def test_imports_follow_the_layer_order():
    upward = sorted(f"{m} -> {t}" for m, targets in import_graph().items() for t in targets
                    if layer_of(m) is not None and layer_of(t) is not None and layer_of(t) > layer_of(m))
    assert not upward, upward


# -- results travel as types: nested string-key lookups are the exception ------------------------------------
MAX_KEY_CHAINS = 15  # each one left reads a file format (config.json, bundle.json, ...) where it is opened


def _string_key(node):
    """(inner node, key) of `x["key"]` or `x.get("key", ...)`, else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.value, node.slice.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.func.value, node.args[0].value
    return None


def key_chains(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Every chain of two or more string keys (`d["a"]["b"]`, `d.get("a", {}).get("b")`): (line, keys outermost last)."""
    inner = {id(k[0]) for n in ast.walk(tree) if (k := _string_key(n)) and _string_key(k[0])}
    chains = []
    for node in ast.walk(tree):
        keys, cur = [], node
        while id(node) not in inner and (k := _string_key(cur)):
            keys.append(k[1])
            cur = k[0]
        if len(keys) >= 2:
            chains.append((node.lineno, keys[::-1]))
    return chains


def test_the_key_chain_finder_sees_subscripts_and_gets():
    tree = ast.parse('a = d["x"]["y"]["z"]\nb = d.get("x", {}).get("y")\nc = d["x"][i]["y"]\ne = d["x"]')
    assert key_chains(tree) == [(1, ["x", "y", "z"]), (2, ["x", "y"])]


def test_nested_string_key_lookups_are_the_exception():
    chains = [(f"{name}:{line} {keys}", len(keys)) for name, tree in package_modules().items()
              for line, keys in key_chains(tree)]
    listed = "\n".join(text for text, _ in chains)
    assert len(chains) <= MAX_KEY_CHAINS, "results travel as types, not dicts indexed by strings:\n" + listed
    assert all(depth == 2 for _, depth in chains), "no lookup three keys deep:\n" + listed


def test_command_modules_only_build_their_parser_and_run():
    """commands/<verb>.py: `add_parser` and `run` (a verb with subcommands: `add_<sub>` and `run_<sub>`), nothing else:
    the work is done by the package, the printing by eyebench/formatters/."""
    shared = {"__init__", "args", "common"}
    extra = [f"{path.stem}.{node.name}" for path in sorted((PACKAGE / "commands").glob("*.py")) if path.stem not in shared
             for node in ast.parse(path.read_text()).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
             and node.name not in ("add_parser", "run") and not node.name.startswith(("run_", "add_"))]
    assert not extra, extra


APP_MAY_IMPORT = {"eyebench.workbench", "eyebench.config", "eyebench.results", "eyebench.errors"}


def runtime_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """The `from ... import` statements a module runs (those under `if TYPE_CHECKING:` only name annotations)."""
    checking = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and getattr(node.test, "id", "") ==
                "TYPE_CHECKING" for n in ast.walk(node)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in checking]


def test_app_tabs_get_their_work_from_workbench():
    """The app lays out what workbench.py does: besides it, only constants, result types and the error type."""
    found = []
    for path in sorted((PACKAGE / "app").glob("*.py")):
        for node in runtime_imports(ast.parse(path.read_text())):
            if node.level == 2:  # from .. import workbench / from ..config import X
                target = "eyebench" + (f".{node.module}" if node.module else "")
                names = [target] if node.module else [f"eyebench.{a.name}" for a in node.names]
                found += [f"{path.name}: {n}" for n in names if n not in APP_MAY_IMPORT]
    assert not found, found
