"""`.env.example` and docs/operations.md name every environment variable the code reads, and nothing else.

The names are read from the code itself (ast), not from a list kept by hand: every `os.environ.get`,
`os.environ[...]` and `os.getenv` with a literal name, and every call of a helper function that passes its
parameter on to one of those (`env_bool("DJANGO_DEBUG", False)`).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "tracker" / "settings.py"
APPS = ("tracker", "priorities", "indicators", "overview", "public_pages")
# `NAME=value`, or `# NAME=value` for a variable that is listed but better left unset (test-only, make run's).
ENV_LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# docker-compose.yml's own variables: ${NAME}, ${NAME:-default}, ${NAME:?message}.
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def _environment_read(node):
    """The expression naming the variable, when `node` reads the environment; else None."""
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        return node.slice
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv") and node.args:
        return node.args[0]
    return None


def environment_names(path):
    """Every variable name `path` reads from the environment, directly or through a helper of its own."""
    tree = ast.parse(path.read_text(), filename=str(path))
    helpers = {}  # function name -> position of the parameter it reads the environment with
    passed_on = set()  # the reads inside those helpers, which name no variable themselves
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            parameters = [argument.arg for argument in function.args.args]
            for node in ast.walk(function):
                named = _environment_read(node)
                if isinstance(named, ast.Name) and named.id in parameters:
                    helpers[function.name] = parameters.index(named.id)
                    passed_on.add(node)
    names = set()
    for node in ast.walk(tree):
        named = _environment_read(node)
        if named is None and isinstance(node, ast.Call) and ast.unparse(node.func) in helpers:
            named = node.args[helpers[ast.unparse(node.func)]]
        if named is None or node in passed_on:
            continue
        if not (isinstance(named, ast.Constant) and isinstance(named.value, str)):
            raise AssertionError(f"{path.name}:{node.lineno}: a variable this test cannot name: {ast.unparse(node)}")
        names.add(named.value)
    return names


def env_example_names():
    return set(ENV_LINE.findall((ROOT / ".env.example").read_text()))


def test_the_reader_finds_direct_reads_and_helpers(tmp_path):
    module = tmp_path / "example.py"
    module.write_text(
        "import os\n"
        "def flag(name, default):\n"
        "    return os.environ.get(name) or default\n"
        "A = os.environ.get('A', '1')\n"
        "B = os.environ['B']\n"
        "C = os.getenv('C')\n"
        "D = flag('D', False)\n"
        "def later():\n"
        "    return os.environ.get('E')\n"
    )
    assert environment_names(module) == {"A", "B", "C", "D", "E"}
    module.write_text("import os\nNAME = 'F'\nF = os.environ.get(NAME)\n")
    with pytest.raises(AssertionError, match="cannot name"):
        environment_names(module)


def test_env_example_lists_every_variable_the_settings_read():
    missing = environment_names(SETTINGS) - env_example_names()
    assert not missing, f".env.example does not list {sorted(missing)}, which tracker/settings.py reads"


def test_env_example_lists_nothing_that_nobody_reads():
    read = set(environment_names(SETTINGS))
    for app in APPS:
        for module in (ROOT / app).rglob("*.py"):
            read |= environment_names(module)
    read |= set(COMPOSE_VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    stale = env_example_names() - read
    assert not stale, f".env.example lists {sorted(stale)}, which neither the code nor docker-compose.yml reads"


def test_the_operations_guide_describes_every_variable():
    configuration = (ROOT / "docs" / "operations.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    described = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", configuration))
    missing = env_example_names() - described
    assert not missing, f"docs/operations.md's Configuration does not describe {sorted(missing)}"
