"""Every page × every role × every parameter and form field it knows × hostile values: no 500, no stray write.

The pages are the access matrix's (tests/test_access_matrix.py: every URL pattern, each role's own
objects). As each role, each page it may open is fetched; its forms (method, target, fields with their
current values) and its query parameters are read from the HTML, plus the parameters every list
knows (page, sort, per_page, ...). Then each field in turn gets hostile values while the others keep
theirs: a sample of HOSTILE per field (every field gets the CORE ones), not every combination, so the
whole walk takes a minute or two. Django's admin gets a walk of its own, as the secretariat: every model's
list, add, change, history and delete pages with the admin's own parameters and its lists' filters.

It fails on any answer of 500 or more (a 503 "temporarily unavailable" from a database error too),
on any write by a GET, and on any write by a refused request (4xx): bad input changes nothing. Each
request runs inside a savepoint that is rolled back afterwards, so an accepted POST (an emoji is a
fine title) does not change the world the next request sees.
"""

import hashlib
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from tests.test_access_matrix import EXPECTED, ROLES, world  # noqa: F401  (world is a fixture)

MEGABYTE = "x" * 1_000_000
CORE = [
    "a\x00b",
    "99999999999999999999999",
    "9999-12-31",
    "😀👍🏽",
    "%INVALID_UTF8%",  # replaced by the raw bytes %FF%FE%C0 in the encoded request
    MEGABYTE,
]
HOSTILE = [
    "-1",
    ["1", "2"],  # a repeated parameter
    ["", "x", "\x00"],
    "-9223372036854775809",
    str(2**64),
    "0",
    "1e309",
    "NaN",
    "0000-00-00",
    "0001-01-01",
    "2024-02-30",
    "' OR 1=1 --",
    "1; DROP TABLE tracker_user",
    "{{ 7|add:7 }}{% debug %}",
    "<script>alert(1)</script>",
    "a\r\nSet-Cookie: x=1",
    "\u202eevil",
    " ",
    "",
    "true",
    "../../etc/passwd",
    "%s%n%x",
]
SAMPLE = 3  # hostile values per field besides CORE
# The admin's own query parameters (django.contrib.admin: lookups, popups, search, ordering, paging), and the
# values every one of them gets besides one of HOSTILE: Django's admin answered `_to_field=` with a 500.
ADMIN_OBJECT_PARAMETERS = ("_to_field", "_popup", "_changelist_filters")
ADMIN_LIST_PARAMETERS = ("q", "o", "p", "all", "e")
ADMIN_VALUES = ["", "a\r\nforged log line", "99999999999999999999999"]
# Parameters of lists that no form on the page names (page, sort and section links); sent where the page links them.
LIST_PARAMETERS = ("page", "sort", "per_page", "show", "objective")
# Signing out would end the walk's session; the importer guard covers file fields.
SKIP_URLS = {"logout"}
# Tables that any request may write: sessions, sign-in attempts (django-axes), and the access and security
# logs (every download, report view and refusal is recorded, by design: README "Audit").
UNCOUNTED = {"sessions.session", "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}
UNCOUNTED |= {"audit.accessevent", "audit.securityevent"}


class _Forms(HTMLParser):
    """The forms of a page: method, action and fields with the values the page gives them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action") or "",
                "fields": {},
            }
            self.forms.append(self._form)
            return
        if self._form is None or not attrs.get("name"):
            return
        name, fields = attrs["name"], self._form["fields"]
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self._form["files"] = True
                return
            fields.setdefault(name, [])
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button"):
                fields[name].append(attrs.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select:
            if "selected" in attrs or not fields[self._select]:
                fields[self._select] = [attrs.get("value", "")]
        elif tag == "textarea":
            self._textarea = name
            fields[name] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea][0] += data


def _forms(html):
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _values_for(name):
    """CORE and SAMPLE more hostile values, chosen by the field's name so each run sends the same."""
    start = int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(HOSTILE)
    return CORE + [HOSTILE[(start + step) % len(HOSTILE)] for step in range(SAMPLE)]


def _encode(data):
    """A form-encoded body or query; %INVALID_UTF8% becomes bytes no UTF-8 decoder accepts."""
    pairs = []
    for name, values in data.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((name, value))
    return urlencode(pairs, quote_via=quote).replace(quote("%INVALID_UTF8%"), "%FF%FE%C0")


def _snapshot():
    """Every table's row count (one query), and this process's count of saves and deletes of watched models.

    The second (tracker/caching.py counts them at once, commit or not) also sees a changed row.
    """
    from tracker import caching

    models = [m for m in apps.get_models() if m._meta.label_lower not in UNCOUNTED and m._meta.managed]
    quote_name = connection.ops.quote_name
    counts = [f"(SELECT COUNT(*) FROM {quote_name(m._meta.db_table)})" for m in models]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(counts)}")  # noqa: S608 - table names from the models
        row = cursor.fetchone()
    snapshot = dict(zip([m._meta.label_lower for m in models], row, strict=True))
    snapshot["saves of watched models"] = caching._local_generation
    return snapshot


def _pages(role, kwargs):
    index = ROLES.index(role)
    for name, (get, _post) in sorted(EXPECTED.items()):
        if name in SKIP_URLS or name.startswith("admin:") or get[index] != 200:
            continue
        yield name, reverse(name, kwargs=kwargs.get(name, {}))


def _requests(client, urls):
    """(method, path, body or query) for every page, form and field the role meets, with hostile values."""
    seen = set()
    for url in urls:
        response = client.get(url)
        html = response.content.decode(errors="replace") if response["Content-Type"].startswith("text/html") else ""
        # Every page gets a parameter it does not know; lists get the ones their links carry.
        parameters = {"unknown": ""} | {name: "" for name in LIST_PARAMETERS if f"{name}=" in html}
        for form in _forms(html):
            target = urlsplit(form["action"]).path or url
            if form.get("files") or target in SKIP_URLS or target == reverse("logout"):
                continue
            fields = {key: values for key, values in form["fields"].items()}
            if form["method"] == "get":
                parameters.update({key: values[0] if values else "" for key, values in fields.items()})
                continue
            for field in fields:
                if field == "csrfmiddlewaretoken" or (target, field) in seen:
                    continue
                seen.add((target, field))
                for value in _values_for(field):
                    yield "post", target, _encode({**fields, field: value})
        for parameter in parameters:
            if (url, parameter) in seen:
                continue
            seen.add((url, parameter))
            for value in _values_for(parameter):
                yield "get", url, _encode({parameter: value})


@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_in_every_field_never_get_a_500_or_a_stray_write(world, role):  # noqa: F811
    users, kwargs = world
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    # The login and invitation pages are the anonymous visitor's.
    requests = list(_requests(client, [url for _name, url in _pages(role, kwargs)]))
    assert len(requests) > 50, "the walk found almost nothing to send"
    failures = []
    for method, path, encoded in requests:
        before = _snapshot()
        savepoint = transaction.savepoint()
        try:
            if method == "get":
                response = client.get(f"{path}?{encoded}")
            else:
                response = client.post(path, encoded, content_type="application/x-www-form-urlencoded")
            status = response.status_code
            try:
                after = _snapshot()
            except DatabaseError as error:
                failures.append(f"{method.upper()} {path} {encoded[:120]}: left the transaction broken ({error})")
                continue
            wrote = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
            if status >= 500:
                failures.append(f"{method.upper()} {path} {encoded[:120]}: {status}")
            elif wrote and (method == "get" or 400 <= status < 500):
                failures.append(f"{method.upper()} {path} {encoded[:120]}: {status} but wrote {wrote}")
        except Exception as error:  # the test client re-raises a view's exception: that is a 500
            failures.append(f"{method.upper()} {path} {encoded[:120]}: {type(error).__name__}: {str(error)[:200]}")
        finally:
            transaction.savepoint_rollback(savepoint)
            if role != "anonymous" and "_auth_user_id" not in client.session:
                client.force_login(users[role])
    assert not failures, f"{len(failures)} of {len(requests)} hostile requests failed:\n" + "\n".join(failures[:40])


def _admin_pages(client):
    """Every model's list, add form, and its first row's change, history and delete pages in Django's admin."""
    index = client.get(reverse("admin:index")).content.decode()
    lists = sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index)))
    assert len(lists) > 10, "the admin index lists almost nothing"
    yield reverse("admin:index")
    for changelist in lists:
        yield changelist
        html = client.get(changelist).content.decode()
        if f'href="{changelist}add/"' in html:
            yield f"{changelist}add/"
        first = re.search(rf'href="({re.escape(changelist)}[^/"]+/)change/', html)
        if first:
            yield from (f"{first.group(1)}change/", f"{first.group(1)}history/", f"{first.group(1)}delete/")


def _admin_values_for(name):
    """ADMIN_VALUES and one more hostile value, chosen by the parameter's name."""
    return [*ADMIN_VALUES, HOSTILE[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(HOSTILE)]]


def _admin_requests(client, urls):
    """(method, path, body or query) for the admin's pages: its own parameters, its lists' filters, and the
    lists' action forms (its add and change forms are Django's ModelForms of models the product's own
    forms already cover)."""
    for url in urls:
        html = client.get(url).content.decode(errors="replace")
        parameters = {*ADMIN_OBJECT_PARAMETERS, "unknown"}
        if re.fullmatch(r"/admin/[a-z_]+/[a-z_]+/", url):
            # Search, ordering, paging, and the filters' own parameters (links that are only a query).
            parameters |= set(ADMIN_LIST_PARAMETERS)
            parameters |= {
                name for query in re.findall(r'href="\?([^"]+)"', html) for name in parse_qs(unescape(query))
            }
            for form in _forms(html):
                if form["method"] != "post" or "action" not in form["fields"]:
                    continue
                for field in [name for name in form["fields"] if name != "csrfmiddlewaretoken"]:
                    for value in _admin_values_for(field):
                        yield "post", url, _encode({**form["fields"], field: value})
        for parameter in sorted(parameters):
            for value in _admin_values_for(parameter):
                yield "get", url, _encode({parameter: value})


def test_hostile_values_in_the_admin_never_get_a_500_or_a_stray_write(world):  # noqa: F811
    """The same walk over Django's admin, as the secretariat (a superuser), with the admin's own parameters."""
    users, _kwargs = world
    client = Client()
    client.force_login(users["secretariat"])
    failures = []
    requests = list(_admin_requests(client, list(_admin_pages(client))))
    anonymous = Client()
    requests += [("get", reverse("admin:login"), _encode({"next": value})) for value in ADMIN_VALUES]
    for method, path, encoded in requests:
        before = _snapshot()
        savepoint = transaction.savepoint()
        try:
            if method == "get":
                response = (anonymous if path == reverse("admin:login") else client).get(f"{path}?{encoded}")
            else:
                response = client.post(path, encoded, content_type="application/x-www-form-urlencoded")
            after = _snapshot()
            wrote = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {path} {encoded[:120]}: {response.status_code}")
            elif wrote and (method == "get" or 400 <= response.status_code < 500):
                failures.append(f"{method.upper()} {path} {encoded[:120]}: {response.status_code} but wrote {wrote}")
        except Exception as error:
            failures.append(f"{method.upper()} {path} {encoded[:120]}: {type(error).__name__}: {str(error)[:200]}")
        finally:
            transaction.savepoint_rollback(savepoint)
            if "_auth_user_id" not in client.session:
                client.force_login(users["secretariat"])
    assert len(requests) > 500, "the walk found almost nothing to send"
    assert not failures, f"{len(failures)} of {len(requests)} hostile requests failed:\n" + "\n".join(failures[:40])
