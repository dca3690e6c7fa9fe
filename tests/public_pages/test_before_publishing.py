"""Before anything is published, every public address is "page not found" except the schema of plan.json.

A JSON Schema describes the format, not any data: served always, so data users can build against it before
the first publication. docs/public-pages.md says so; these tests keep code and documentation agreed.
"""

import re
from pathlib import Path

from django.test import Client
from django.urls import get_resolver, reverse

from tests.factories import ActionFactory, SuccessIndicatorFactory

PUBLIC_PAGES_DOC = Path(__file__).resolve().parents[2] / "docs" / "public-pages.md"
ALWAYS_SERVED = {"public:plan-schema"}


def public_url_names():
    resolver = next(entry for entry in get_resolver().url_patterns if getattr(entry, "namespace", None) == "public")
    return sorted(f"public:{pattern.name}" for pattern in resolver.url_patterns)


def test_every_public_address_but_the_schema_is_not_found_before_publishing(db):
    action = ActionFactory()
    indicator = SuccessIndicatorFactory(plan=action.objective.priority.plan)
    kwargs = {
        "public:objective": {"pk": action.objective_id},
        "public:objective-page": {"pk": action.objective_id, "page": 1},
        "public:action": {"pk": action.pk},
        "public:indicator": {"pk": indicator.pk},
    }
    client = Client()
    names = public_url_names()
    assert len(names) >= 8 and ALWAYS_SERVED <= set(names)
    for name in names:
        response = client.get(reverse(name, kwargs=kwargs.get(name, {})))
        assert response.status_code == (200 if name in ALWAYS_SERVED else 404), name
    schema = client.get(reverse("public:plan-schema"))
    assert schema["Content-Type"] == "application/schema+json"
    assert b'"$schema"' in schema.content and b"Publication" not in schema.content


def test_the_documentation_says_the_schema_is_the_one_exception():
    section = PUBLIC_PAGES_DOC.read_text().split("# Public pages and open data", 1)[1].split("\n## ", 1)[0]
    rule = re.search(r"Until a plan is published, every public address[^\n]*(?:\n[^\n]+)*", section).group(0)
    assert "/public/plan.schema.json" in rule and "404" in rule
