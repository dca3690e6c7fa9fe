"""The apps depend one way: each may import only from the layers below it (README.md, "Layout").

tracker (people, organisations, the project's machinery) <- priorities (the plan) <- indicators and messaging
(on top of the plan, side by side) <- overview and public_pages (the pages that combine them). A module that
imports against that order, or imports another app inside a function (the usual way to dodge a cycle), fails
this test.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "tracker": 0,
    "priorities": 1,
    # The access and security logs: they need only people (tracker), and every app reports to them through it.
    "audit": 1,
    "indicators": 2,
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
