"""The apps depend one way: each may import only from the layers below it (README.md, "Layout").

tracker (people, organisations, the project's machinery) <- priorities (the plan) <- indicators and messaging
(on top of the plan, side by side) <- overview and public_pages (the pages that combine them). A module that
imports against that order, or imports another app inside a function (the usual way to dodge a cycle), fails
this test.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "tracker": 0,
    "priorities": 1,
    # The access and security logs: they need only people (tracker), and every app reports to them through it.
    "audit": 1,
    "indicators": 2,
    # Importing a plan from a spreadsheet: it builds on the plan (priorities).
    "plan_imports": 2,
    # Reminders, notifications and report links: they listen to the plan's signals (priorities/signals.py).
    # Indicators sends the plan's report signals too, so neither of the two imports the other.
    "messaging": 2,
    "overview": 3,
    "public_pages": 3,
    "api": 3,
    # A person's data and retention: they reach into every app's records.
    "privacy": 3,
}
# The project's URLconf wires every app into one site, so it names views from the apps above tracker.
WIRING = {"tracker/urls.py"}


def project_modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            yield app, path.relative_to(ROOT).as_posix(), path


def imported_apps(node, module_path):
    """(app, line, inside_function) for every import of one of our apps in `node`'s tree."""
    package = module_path.removesuffix(".py").split("/")[:-1]

    def visit(tree, in_function):
        for child in ast.iter_child_nodes(tree):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from visit(child, True)
                continue
            names = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: resolve against the module's package
                    base = package[: len(package) - child.level + 1]
                    names = [".".join([*base, child.module or ""])]
                else:
                    names = [child.module or ""]
            for name in names:
                app = name.split(".")[0]
                if app in LAYERS:
                    yield app, child.lineno, in_function
            yield from visit(child, in_function)

    yield from visit(node, False)


def violations():
    found = []
    for app, relative, path in project_modules():
        if relative in WIRING:
            continue
        tree = ast.parse(path.read_text(), filename=relative)
        for imported, line, in_function in imported_apps(tree, relative):
            if imported == app:
                continue
            if LAYERS[imported] >= LAYERS[app]:
                found.append(f"{relative}:{line} imports {imported} ({app} may not: it is not below it)")
            elif in_function:
                found.append(f"{relative}:{line} imports {imported} inside a function (import it at the top)")
    return found


def test_apps_import_only_from_the_layers_below():
    assert violations() == []


@pytest.mark.parametrize(
    ("app", "source", "expected"),
    [
        ("tracker", "from priorities.models import Action\n", "imports priorities"),
        ("priorities", "def f():\n    from indicators.models import Measure\n", "imports indicators"),
        ("indicators", "def f():\n    from priorities.models import Action\n", "inside a function"),
        ("overview", "import public_pages.views\n", "imports public_pages"),
    ],
)
def test_the_check_catches_an_import_against_the_order(app, source, expected, tmp_path):
    tree = ast.parse(source)
    [(imported, _line, in_function)] = imported_apps(tree, f"{app}/module.py")
    wrong = LAYERS[imported] >= LAYERS[app] or in_function
    assert wrong
    message = "inside a function" if LAYERS[imported] < LAYERS[app] else f"imports {imported}"
    assert expected == message


def test_relative_imports_resolve_to_their_own_app():
    tree = ast.parse("from ..models import Action\nfrom . import views\n")
    apps = [app for app, _line, _in_function in imported_apps(tree, "priorities/views/actions.py")]
    assert apps == ["priorities", "priorities"]


# --- import cycles between modules ---------------------------------------------------------------------


def module_name(relative):
    """The dotted module of a file: priorities/views/plan.py -> priorities.views.plan (a package: its own name)."""
    return relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def module_imports(tree, relative, modules):
    """The project's modules that `tree` (the file `relative`) imports, at the top or inside a function."""
    is_package = relative.endswith("/__init__.py")
    package = module_name(relative).split(".") if is_package else module_name(relative).split(".")[:-1]

    def resolve(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            # `from . import views` imports the module views, not only the package.
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for name in names:
            if resolved := resolve(name):
                found.add(resolved)
    return found


def import_graph():
    """{module: the project modules it imports} for every module of the apps in LAYERS (not migrations)."""
    files = {
        module_name(relative): (relative, path)
        for _app, relative, path in project_modules()
        if "/migrations/" not in relative
    }
    graph = {}
    for module, (relative, path) in files.items():
        tree = ast.parse(path.read_text(), filename=relative)
        graph[module] = module_imports(tree, relative, files) - {module}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each a frozenset."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = iter(range(len(graph) * 2 + 1))

    def visit(node):
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.add(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules():
    found = [sorted(cycle) for cycle in cycles(import_graph())]
    assert found == []


def test_the_cycle_check_sees_a_cycle_through_a_function_import():
    modules = {"tracker.a": "tracker/a.py", "tracker.b": "tracker/b.py", "tracker.c": "tracker/c.py"}
    sources = {
        "tracker/a.py": "from .b import f\n",
        "tracker/b.py": "def f():\n    from tracker import c\n",
        "tracker/c.py": "from . import a\n",
    }
    graph = {module: module_imports(ast.parse(sources[path]), path, modules) for module, path in modules.items()}
    assert cycles(graph) == [frozenset(modules)]


# --- a lower layer naming a higher app's models in strings ----------------------------------------------

MODEL_LABEL = re.compile(r"^(?P<app>[a-z_]+)\.(?P<name>\w+)$")


def named_models(tree, app_dirs):
    """(app, line) for each string naming a model of one of our apps: "priorities.Action", a lower-case label
    ("priorities.action") that is not a module, or apps.get_model("priorities", ...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODEL_LABEL.match(node.value)
            if match and match["app"] in LAYERS:
                name = match["name"]
                is_module = (app_dirs / match["app"] / f"{name}.py").exists() or (
                    app_dirs / match["app"] / name
                ).is_dir()
                if name[0].isupper() or not is_module:
                    yield match["app"], node.lineno
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == "get_model" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    app = first.value.split(".")[0]
                    if app in LAYERS:
                        yield app, node.lineno


def model_name_violations():
    found = []
    for app, relative, path in project_modules():
        if relative in WIRING or "/migrations/" in relative:
            continue
        tree = ast.parse(path.read_text(), filename=relative)
        for named, line in named_models(tree, ROOT):
            if LAYERS[named] > LAYERS[app]:
                found.append(f"{relative}:{line} names a model of {named} ({app} is below it: use a registry)")
    return found


def test_a_lower_layer_names_no_model_of_a_higher_app():
    assert model_name_violations() == []


@pytest.mark.parametrize(
    "source",
    [
        'WATCHED = {"priorities.Action"}\n',
        'UNWATCHED = {"priorities.reminder"}\n',
        'def f(apps):\n    return apps.get_model("priorities", "Action")\n',
        'def f(apps):\n    return apps.get_model("indicators.Measure")\n',
    ],
)
def test_the_model_name_check_sees_a_higher_apps_model(source):
    assert {app for app, _line in named_models(ast.parse(source), ROOT)} in ({"priorities"}, {"indicators"})


def test_the_model_name_check_leaves_module_paths_alone():
    assert list(named_models(ast.parse('PATH = "priorities.services"\nX = "tracker.models"\n'), ROOT)) == []


# --- another app's private names -------------------------------------------------------------------


def private_imports(tree, app):
    """ "module.name" for each name starting with "_" that `tree` (a module of `app`) imports from another app."""
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
        if node.module.split(".")[0] in LAYERS and node.module.split(".")[0] != app
        for alias in node.names
        if alias.name.startswith("_")
    ]


def test_no_app_imports_another_apps_private_names():
    """An app writes through another's public services (plan_imports through priorities.services and
    tracker.services), never through its private helpers."""
    found = [
        f"{relative}: {name}"
        for app, relative, path in project_modules()
        for name in private_imports(ast.parse(path.read_text(), filename=relative), app)
    ]
    assert found == []


def test_the_private_name_check_sees_one():
    tree = ast.parse("from priorities.services import (\n    _record_created,\n    action_create,\n)\n")
    assert private_imports(tree, "plan_imports") == ["priorities.services._record_created"]
    assert private_imports(tree, "priorities") == []
