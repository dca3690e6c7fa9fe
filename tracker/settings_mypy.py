"""The settings mypy's Django plugin imports: the real settings, readable on a fresh clone.

tracker/settings.py refuses to load without DJANGO_SECRET_KEY unless DJANGO_DEBUG is on; mypy only
reads the settings' names and types, so it loads them in development mode when no key is given.
"""

import os

if not os.environ.get("DJANGO_SECRET_KEY"):
    os.environ["DJANGO_DEBUG"] = "1"

from tracker.settings import *  # noqa: E402, F403 (the same settings under another module name, for the plugin)
