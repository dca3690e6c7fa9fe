"""No module of ours is named like an installed top-level module.

A script run as `python bench/x.py` puts its own folder first on sys.path, so a module there named like
an installed one is imported in its place: bench/public.py once hid the `public` module (atpublic) that
aiosmtpd imports, and the reminders drill stopped on an ImportError. The drills run as modules
(`python -m bench.drills`) now; this keeps the names clear as well.
"""

import ast
import importlib.metadata
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUR_CODE = ["bench", "tracker", "priorities", "messaging", "indicators", "overview", "public_pages"]
# Celery's documented Django layout: `celery -A tracker` finds the app in `tracker.celery`. Only a script run
# from tracker/ would put that folder on sys.path (see the last test).
ALLOWED = {"tracker/celery.py": "celery"}


def installed_top_level_names():
    """Every name `import x` can find outside our code: the standard library's and every installed distribution's."""
    distributions = importlib.metadata.packages_distributions()
    installed = {name for name, owners in distributions.items() if set(owners) != {"plan-tracker"}}
    return installed | set(sys.stdlib_module_names)


def our_modules():
    """(path relative to the project, the name it is imported by from its own folder) for each module and package."""
    for root in OUR_CODE:
        for path in sorted((ROOT / root).rglob("*")):
            if "__pycache__" in path.parts:
                continue
            if path.suffix == ".py" and path.stem != "__init__":
                yield path.relative_to(ROOT).as_posix(), path.stem
            elif path.is_dir() and (path / "__init__.py").exists():
                yield path.relative_to(ROOT).as_posix(), path.name


def test_the_list_of_installed_names_is_real():
    names = installed_top_level_names()
    assert {"django", "celery", "public", "json"} <= names, "atpublic's `public` is what bench/public.py once hid"
    assert not {"priorities", "tracker", "bench"} & names


def test_no_module_of_ours_is_named_like_an_installed_one():
    installed = installed_top_level_names()
    clashes = [
        f"{path} (import {name})" for path, name in our_modules() if name in installed and ALLOWED.get(path) != name
    ]
    assert clashes == [], "rename these modules: each hides an installed module of the same name: " + ", ".join(clashes)


def is_script(module):
    """The module has an `if __name__ == ...` block: it is meant to be run as a file."""
    return any(
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        for node in ast.parse(module.read_text()).body
    )


def test_a_script_beside_an_allowed_name_runs_with_its_folder_off_the_path():
    """tracker/sheet_reader.py is the one script in tracker/: it starts itself as `python -I` (isolated mode,
    which leaves the script's folder off sys.path), so tracker/celery.py cannot hide Celery there either."""
    for path in ALLOWED:
        for module in sorted((ROOT / path).parent.glob("*.py")):
            if is_script(module):
                assert '[sys.executable, "-I", ' in module.read_text(), (
                    f"{module.relative_to(ROOT)} is a script beside {path}: run it in isolated mode (-I) or rename"
                )
