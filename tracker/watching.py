"""Which apps' rows the cached pages show (tracker/caching.py): a registry the apps above tracker fill.

Apart from tracker.caching because it imports no model, so an app's AppConfig.ready() can import it at the
top of apps.py. tracker names none of the higher apps' models: each app says what of it is watched.
"""

from collections.abc import Callable, Iterable

# The apps whose models' rows the cached pages show.
WATCHED_APPS = {"tracker"}
# Models of watched apps ("app_label.model_name") whose rows the cached pages never show.
UNWATCHED = {"tracker.invitation", "tracker.datageneration"}
# Models whose rows fill choice lists (the register's filters): saving one bumps the choices generation too.
CHOICE_MODELS = {"tracker.organisation", "tracker.user"}
# Called with each app newly watched, once the caching receivers are connected (tracker.caching.connect).
_on_watch: list[Callable[[str], None]] = []


def watch(app_label: str, *, unwatched: Iterable[str] = (), choice_models: Iterable[str] = ()) -> None:
    """Cached pages show the rows of app `app_label`: a save or delete of one of its models is a change.

    Called from the app's AppConfig.ready(). `unwatched` names its models ("app.Model") whose rows no cached
    page shows; `choice_models` those that fill choice lists (their changes bump the choices generation).
    """
    WATCHED_APPS.add(app_label)
    UNWATCHED.update(label.lower() for label in unwatched)
    CHOICE_MODELS.update(label.lower() for label in choice_models)
    for connect in _on_watch:
        connect(app_label)


def on_watch(connect: Callable[[str], None]) -> None:
    """Call `connect(app_label)` for every app watched from now on (tracker.caching connects its receivers)."""
    _on_watch.append(connect)
