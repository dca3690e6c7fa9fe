"""Every import inside a function, in our apps, says why in a comment on its line or the line before.

An import belongs at the top of its module; one that waits for a call (Celery's task layout, the app
registry, a cost paid only on one path) is an exception a reader must be told about. There is no
allow-list: the comment is the exception's record.
"""

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("tracker", "priorities", "messaging", "plan_imports", "indicators", "overview", "public_pages")


def unexplained_lazy_imports(source, name="<module>"):
    """`name:line: statement` for each import inside a function with no comment on its line or just above it."""
    tree = ast.parse(source, filename=name)
    commented = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lines = source.splitlines()
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            own = any(line in commented for line in range(node.lineno, node.end_lineno + 1))
            above = node.lineno - 1
            explained_above = above in commented and lines[above - 1].lstrip().startswith("#")
            if not (own or explained_above):
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(found))


def test_the_check_finds_an_unexplained_import_in_a_function():
    source = (
        "import os\n"
        "def explained_above():\n"
        "    # Celery's layout: tasks import the services.\n"
        "    from .tasks import a\n"
        "def explained_on_the_line():\n"
        "    from .tasks import b  # the app registry is not ready at import time\n"
        "class Thing:\n"
        "    def method(self):\n"
        "        x = '# not a comment'\n"
        "        from .tasks import c\n"
        "def not_a_comment_above():\n"
        "    y = 1  # about y\n"
        "    import json\n"
    )
    assert unexplained_lazy_imports(source) == [
        "<module>:10: from .tasks import c",
        "<module>:13: import json",
    ]


def test_every_lazy_import_in_our_apps_says_why():
    found = []
    for app in APPS:
        for module in sorted((ROOT / app).rglob("*.py")):
            found += unexplained_lazy_imports(module.read_text(), str(module.relative_to(ROOT)))
    assert not found, "Imports inside functions without a comment saying why:\n" + "\n".join(found)
