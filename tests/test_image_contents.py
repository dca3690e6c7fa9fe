"""The production image (Dockerfile) and the installed package hold every app the settings install.

An app missing from either starts in development (the checkout has it) and fails in production at the
first import: `docker compose up` would stop with ModuleNotFoundError.
"""

import re
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def our_apps():
    names = {entry.split(".")[0] for entry in settings.INSTALLED_APPS}
    return sorted(name for name in names if (ROOT / name / "__init__.py").exists())


def test_the_image_copies_every_app_the_settings_install():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY\s+([\w/]+)\s+\./\1\s*$", dockerfile, flags=re.MULTILINE))
    assert our_apps(), "no app found: the test would prove nothing"
    missing = [app for app in our_apps() if app not in copied]
    assert missing == [], f"the Dockerfile does not COPY {missing}"


def test_the_package_includes_every_app_the_settings_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = [app for app in our_apps() if f"{app}*" not in include]
    assert missing == [], f"pyproject.toml's packages do not include {missing}"


def test_nothing_the_image_needs_is_ignored_by_docker():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not ignored & set(our_apps())
