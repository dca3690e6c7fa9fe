"""The public pages and open data: published by a decision, showing only accepted, public items, cached for everyone."""

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from django.core.exceptions import PermissionDenied
from django.db import models
from django.test import Client
from django.urls import reverse
from faker import Faker

from indicators.models import Measure
from indicators.services import (
    measurement_correct,
    measurement_record,
    measurement_submission_create,
    measurement_submission_return,
)
from priorities.models import ActionChange, PlanPublication, Status
from priorities.services import (
    action_record_update,
    action_update_details,
    plan_publish,
    plan_unpublish,
    progress_update_set_public,
    submission_accept,
    submission_create,
    submission_return,
)
from public_pages import opendata
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    MeasureFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    PlanFactory,
    SecretariatFactory,
    SuccessIndicatorFactory,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "public_pages" / "schema" / "plan.schema.json").read_text())


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.hrefs.append(value)


def crawl(client, start="/public/"):
    """Every /public/ address reachable from `start` by links, plus the open-data files: {path: response}."""
    seen, queue = {}, [start, "/public/plan.json", "/public/plan.csv", "/public/plan.schema.json"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        response = client.get(path)
        seen[path] = response
        if response["Content-Type"].startswith("text/html"):
            parser = Links()
            parser.feed(response.content.decode())
            queue += [h.split("#")[0] for h in parser.hrefs if h.startswith("/public/") and h.split("#")[0]]
    return seen


@pytest.fixture
def world(db):
    """A published plan full of planted secrets (generated), and the public items that must show."""
    fake = Faker()
    Faker.seed(17)
    secrets = {}

    def secret(label):
        # Generated text no page could contain by chance.
        secrets[label] = f"{fake.word()}-{fake.uuid4()[:12]}"
        return secrets[label]

    organisation = OrganisationFactory(contact_email=f"{secret('org-contact')}@example.org")
    secretariat = SecretariatFactory(
        username=secret("secretariat-username"),
        first_name=secret("secretariat-first-name"),
        last_name=secret("secretariat-last-name"),
        email=f"{secret('secretariat-email')}@example.org",
    )
    partner = PartnerFactory(
        organisation=organisation,
        username=secret("partner-username"),
        first_name=secret("partner-first-name"),
        last_name=secret("partner-last-name"),
        email=f"{secret('partner-email')}@example.org",
    )
    plan = PlanFactory(title="The published plan", organisation_name="The commissioner's office")
    objective = ObjectiveFactory(priority__plan=plan, code="5.1")
    action = ActionFactory(objective=objective, code="5.11", owner=secretariat)
    ActionPartnerFactory(action=action, organisation=organisation)
    action_update_details(
        action=action, by=secretariat, public_summary="Teams are working across borders.", title=secret("old-title")
    )
    action_update_details(action=action, by=secretariat, title="Joint teams")
    # An internal update, then a public one with an evidence link that stays internal.
    action_record_update(action=action, status=Status.AT_RISK, note=secret("internal-note"), by=secretariat)
    action_record_update(
        action=action,
        status=Status.ON_TRACK,
        note="Funding agreed; teams restarted.",
        evidence_url=f"https://intranet.example.org/{secret('evidence-path')}",
        is_public=True,
        by=secretariat,
    )
    # A partner's accepted submission, public; one waiting for review; one returned with a reason.
    accepted = submission_create(action=action, by=partner, status=Status.ON_TRACK, note="Partner says all well.")
    update = submission_accept(submission=accepted, by=secretariat)
    progress_update_set_public(update=update, public=True, by=secretariat)
    returned = submission_create(action=action, by=partner, status=Status.OFF_TRACK, note=secret("returned-note"))
    submission_return(submission=returned, by=secretariat, reason=secret("return-reason"))
    submission_create(action=action, by=partner, status=Status.COMPLETED, note=secret("pending-note"))
    # Indicators: a public measurement (its note and source stay internal), an unpublished one, a submitted one.
    indicator = SuccessIndicatorFactory(plan=plan, code="SI1", statement="More joint investigations")
    indicator.actions.add(action)
    measure = MeasureFactory(
        indicator=indicator,
        name="Joint teams set up",
        baseline_value=2,
        target_value=10,
        reporting_organisation=organisation,
    )
    measurement_record(
        measure=measure,
        by=secretariat,
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 12, 31),
        value=Decimal("7"),
        source=secret("measurement-source"),
        note=secret("measurement-note"),
        is_public=True,
    )
    hidden = measurement_record(
        measure=measure,
        by=secretariat,
        period_start=datetime.date(2025, 1, 1),
        period_end=datetime.date(2025, 12, 31),
        value=Decimal("918273.64"),
        is_public=False,
    )
    measurement_correct(measurement=hidden, by=secretariat, note=secret("correction-note"))
    secrets["unpublished-value"] = "918273.64"
    secrets["unpublished-value-formatted"] = "918,273.64"
    measurement_submission_create(
        measure=measure,
        by=partner,
        period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 31),
        value=Decimal("55443.21"),
        note=secret("submitted-value-note"),
    )
    secrets["submitted-value"] = "55443.21"
    rejected = measurement_submission_create(
        measure=measure,
        by=partner,
        period_start=datetime.date(2023, 1, 1),
        period_end=datetime.date(2023, 12, 31),
        value=Decimal("66554.32"),
    )
    measurement_submission_return(submission=rejected, by=secretariat, reason=secret("value-return-reason"))
    secrets["returned-value"] = "66554.32"
    # Another plan, never published: nothing of it shows.
    other = ActionFactory(objective__priority__plan=PlanFactory(title=secret("unpublished-plan")))
    secrets["unpublished-action"] = other.title
    indicator.actions.add(other)  # linked across plans: still not shown
    plan_publish(plan=plan, by=secretariat)
    return {
        "plan": plan,
        "action": action,
        "indicator": indicator,
        "measure": measure,
        "secretariat": secretariat,
        "partner": partner,
        "secrets": secrets,
    }


def test_nothing_secret_appears_on_any_public_page_or_file(world):
    pages = crawl(Client())
    action, indicator = world["action"], world["indicator"]
    assert {
        f"/public/actions/{action.pk}/",
        f"/public/indicators/{indicator.pk}/",
        f"/public/objectives/{action.objective_id}/",
    } <= set(pages)
    everything = ""
    for path, response in pages.items():
        assert response.status_code == 200, path
        everything += response.content.decode("utf-8-sig")
    leaks = {label: value for label, value in world["secrets"].items() if value.lower() in everything.lower()}
    assert not leaks, leaks
    # The crawl did reach what is public (so the test above could have found a leak).
    for shown in ("Teams are working across borders.", "Funding agreed; teams restarted.", "Partner says all well."):
        assert shown in pages[f"/public/actions/{action.pk}/"].content.decode()
    assert world["partner"].organisation.name in everything
    assert "Joint teams" in everything
    assert re.search(r"\b7\b", pages[f"/public/indicators/{indicator.pk}/"].content.decode())


def test_json_validates_against_the_schema_it_links_to(world):
    client = Client()
    response = client.get(reverse("public:plan-json"))
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    schema = json.loads(client.get(reverse("public:plan-schema")).content)
    assert schema == SCHEMA
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)
    assert document["schema_version"] == opendata.SCHEMA_VERSION
    assert document["$schema"].endswith("/public/plan.schema.json")
    assert document["licence"]["name"] and document["last_updated"]
    [plan] = document["plans"]
    [action] = plan["priorities"][0]["objectives"][0]["actions"]
    assert action["public_summary"] == "Teams are working across borders."
    assert [u["note"] for u in action["updates"]] == ["Funding agreed; teams restarted.", "Partner says all well."]
    [measure] = plan["indicators"][0]["measures"]
    assert measure["baseline"]["value"] == 2 and measure["target"]["value"] == 10
    assert [v["value"] for v in measure["values"]] == [7]


def test_the_schema_refuses_a_document_with_a_person_in_it(world):
    document = json.loads(Client().get(reverse("public:plan-json")).content)
    document["plans"][0]["priorities"][0]["objectives"][0]["actions"][0]["owner"] = "Someone"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


def test_csv_has_licence_and_last_updated_on_every_row(world):
    response = Client().get(reverse("public:plan-csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["record"] for row in rows} == {"action", "update", "measurement"}
    assert all(row["licence"].startswith("Open Government Licence") and row["last_updated"] for row in rows)
    [measurement] = [row for row in rows if row["record"] == "measurement"]
    assert measurement["value"] == "7" and measurement["baseline"] == "2"


@pytest.mark.parametrize("name", ["public:plan", "public:plan-json", "public:plan-csv"])
def test_not_found_before_publishing_and_at_once_after_unpublishing(world, name):
    client = Client()
    plan, secretariat = world["plan"], world["secretariat"]
    assert client.get(reverse(name)).status_code == 200
    plan_unpublish(plan=plan, by=secretariat)
    response = client.get(reverse(name))
    assert response.status_code == 404
    assert response["Cache-Control"] == "no-cache"
    assert client.get(reverse("public:action", args=[world["action"].pk])).status_code == 404
    plan_publish(plan=plan, by=secretariat)
    assert client.get(reverse(name)).status_code == 200


def test_public_pages_404_for_a_plan_never_published(db):
    action = ActionFactory()
    client = Client()
    for path in (
        reverse("public:plan"),
        reverse("public:action", args=[action.pk]),
        reverse("public:objective", args=[action.objective_id]),
        reverse("public:plan-json"),
        reverse("public:plan-csv"),
    ):
        assert client.get(path).status_code == 404, path
    assert client.get(reverse("public:plan-schema")).status_code == 200


def test_publishing_is_logged_and_only_the_secretariat_decides(world, client):
    plan, secretariat = world["plan"], world["secretariat"]
    with pytest.raises(PermissionDenied):
        plan_unpublish(plan=plan, by=world["partner"])
    assert plan_publish(plan=plan, by=secretariat) is None  # already published: nothing logged
    client.force_login(secretariat)
    response = client.post(reverse("priorities:plan-unpublish", args=[plan.pk]), follow=True)
    assert "is unpublished" in response.content.decode()
    page = client.get(reverse("priorities:plan")).content.decode()
    assert "Publishing history" in page and reverse("priorities:plan-publish", args=[plan.pk]) in page
    assert list(PlanPublication.objects.filter(plan=plan).values_list("published", "decided_by")) == [
        (False, secretariat.pk),
        (True, secretariat.pk),
    ]
    plan.refresh_from_db()
    assert plan.published_at is None


def _headers_ok(response):
    assert response["Cache-Control"].startswith("public, max-age=")
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "Cookie" not in response.get("Vary", "")


PUBLIC_NAMES = ["plan", "objective", "action", "indicator", "plan-json", "plan-csv", "plan-schema"]


def _public_url(world, name):
    args = {
        "objective": [world["action"].objective_id],
        "action": [world["action"].pk],
        "indicator": [world["indicator"].pk],
    }.get(name, [])
    return reverse(f"public:{name}", args=args)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_responses_are_cacheable_and_never_read_the_session(world, name, monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    url = _public_url(world, name)
    client = Client()
    client.force_login(world["secretariat"])

    def refuse(self, *args, **kwargs):
        raise AssertionError("a public page read the session")

    monkeypatch.setattr(SessionStore, "load", refuse)
    signed_in = client.get(url)
    assert signed_in.status_code == 200
    _headers_ok(signed_in)
    anonymous = Client().get(url)
    _headers_ok(anonymous)
    assert anonymous.content == signed_in.content
    assert anonymous["ETag"] == signed_in["ETag"]
    assert "csrfmiddlewaretoken" not in anonymous.content.decode(errors="ignore")


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_a_matching_etag_answers_304(world, name):
    url = _public_url(world, name)
    client = Client()
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"] and again["Cache-Control"] == first["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_change_gives_a_new_etag_and_new_content(world):
    client = Client()
    url = _public_url(world, "action")
    before = client.get(url)
    action_update_details(action=world["action"], by=world["secretariat"], public_summary="Now completed.")
    after = client.get(url, headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert "Now completed." in after.content.decode()


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_query_strings_change_nothing(world, name):
    url = _public_url(world, name)
    plain = Client().get(url)
    signed_in = Client()
    signed_in.force_login(world["secretariat"])
    for query in ("?page=2", "?status=at_risk&sort=-code", "?format=xml&x=<script>"):
        assert signed_in.get(url + query).content == plain.content
    assert Client().get(url).content == plain.content


def test_withdrawn_update_and_measurement_disappear(world):
    client = Client()
    url = _public_url(world, "action")
    action = world["action"]
    update = action.updates.get(note="Funding agreed; teams restarted.")
    progress_update_set_public(update=update, public=False, by=world["secretariat"])
    assert "Funding agreed" not in client.get(url).content.decode()
    # Made public when accepted, then withdrawn (one recorded public from the start logs no change).
    assert ActionChange.objects.filter(action=action, field="update_public").count() == 2
    measurement = world["measure"].measurements.get(is_public=True)
    measurement_correct(measurement=measurement, by=world["secretariat"], is_public=False)
    document = json.loads(client.get(reverse("public:plan-json")).content)
    assert document["plans"][0]["indicators"][0]["measures"][0]["values"] == []


def test_query_counts_do_not_grow_with_the_data(world, django_assert_max_num_queries):
    from django.core.cache import cache

    for _ in range(30):
        action = ActionFactory(objective=world["action"].objective)
        ActionPartnerFactory(action=action)
        action_record_update(action=action, status=Status.ON_TRACK, note="x", is_public=True, by=world["secretariat"])
    client = Client()
    budgets = {"plan": 10, "objective": 10, "action": 10, "indicator": 10, "plan-json": 16, "plan-csv": 16}
    for name, budget in budgets.items():
        cache.clear()
        with django_assert_max_num_queries(budget):
            assert client.get(_public_url(world, name)).status_code == 200
        # Served from the cache: only the data generation is read.
        with django_assert_max_num_queries(1):
            client.get(_public_url(world, name))


def test_objective_pages_hold_at_most_fifty_actions(world):
    objective = world["action"].objective
    for _ in range(55):
        ActionFactory(objective=objective)
    client = Client()
    first = client.get(reverse("public:objective", args=[objective.pk])).content.decode()
    assert first.count('class="app-public-action"') == 50
    assert reverse("public:objective-page", args=[objective.pk, 2]) in first
    second = client.get(reverse("public:objective-page", args=[objective.pk, 2])).content.decode()
    assert second.count('class="app-public-action"') == 6
    assert client.get(reverse("public:objective-page", args=[objective.pk, 3])).status_code == 404


def test_every_public_page_has_quick_exit_and_no_inline_script(world, settings):
    for path, response in crawl(Client()).items():
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        assert 'data-module="govuk-exit-this-page"' in html, path
        assert re.search(r"Last updated: <time datetime=\"[0-9T:+-]+\">\d{1,2} \w+ \d{4}</time>", html), path
        assert f'href="{settings.PUBLIC_QUICK_EXIT_URL}"' in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html, path


def test_text_measures_and_partners_never_people(world):
    measure = MeasureFactory(indicator=world["indicator"], name="What changed", unit=Measure.Unit.TEXT)
    measurement_record(
        measure=measure,
        by=world["secretariat"],
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 12, 31),
        text_value="A new agreement was signed.",
        is_public=True,
    )
    page = Client().get(_public_url(world, "indicator")).content.decode()
    assert "A new agreement was signed." in page
    assert "reported by " + world["partner"].organisation.name in page


def test_another_processs_change_shows_within_public_generation_seconds(world, settings, monkeypatch):
    """The generation is re-read at most every PUBLIC_GENERATION_SECONDS; this process's own writes at once."""
    from tracker import caching
    from tracker.models import DataGeneration

    settings.PUBLIC_GENERATION_SECONDS = 30
    clock = [1000.0]
    monkeypatch.setattr(caching.time, "monotonic", lambda: clock[0])
    client = Client()
    url = reverse("public:plan")
    assert client.get(url).status_code == 200
    # Another web process unpublishes: its commit moves the shared generation, not this process's own count.
    type(world["plan"]).objects.filter(pk=world["plan"].pk).update(published_at=None)
    DataGeneration.objects.filter(pk=1).update(value=models.F("value") + 1)
    assert client.get(url).status_code == 200  # within the 30 seconds: still the cached page
    clock[0] += 30
    assert client.get(url).status_code == 404
    # This process's own write counts at once, whatever the clock.
    plan_publish(plan=world["plan"], by=world["secretariat"])
    assert client.get(url).status_code == 200


def test_every_public_page_describes_itself_and_links_the_favicon(world):
    """Search results and shared links show a page's own description; the browser finds the icon (no 404)."""
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    descriptions = {}
    for path, response in crawl(Client()).items():
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        found = re.search(r'<meta name="description" content="([^"<>]{20,})">', html)
        assert found, f"{path} has no meta description"
        descriptions[path] = found.group(1)
        assert f'<link rel="icon" href="{static("images/favicon.svg")}" type="image/svg+xml">' in html, path
    assert finders.find("images/favicon.svg")
    assert "The published plan" in descriptions["/public/"]
    assert any("5.11, Joint teams" in text for text in descriptions.values()), descriptions
    assert len(set(descriptions.values())) > 3, descriptions


def test_an_objective_or_priority_without_a_live_action_is_not_shown(world, client):
    """An empty objective (none yet, or all archived) and a priority holding only such objectives are left out."""
    from priorities.services import action_archive
    from tests.factories import PriorityFactory

    plan, secretariat = world["plan"], world["secretariat"]
    shown = world["action"].objective
    empty_priority = PriorityFactory(plan=plan, number=9, title="A priority not started")
    empty = ObjectiveFactory(priority=empty_priority, code="9.1", title="An objective with no action")
    emptied = ObjectiveFactory(priority=shown.priority, code="5.9", title="An objective whose action was archived")
    action_archive(action=ActionFactory(objective=emptied, code="5.91"), by=secretariat)
    html = client.get(reverse("public:plan")).content.decode()
    assert shown.title in html
    for text in ("A priority not started", "An objective with no action", "An objective whose action was archived"):
        assert text not in html
    for objective in (empty, emptied):
        assert client.get(reverse("public:objective", kwargs={"pk": objective.pk})).status_code == 404
    document = client.get(reverse("public:plan-json")).json()
    assert [
        (priority["number"], [objective["code"] for objective in priority["objectives"]])
        for priority in document["plans"][0]["priorities"]
    ] == [(shown.priority.number, [shown.code])]
    jsonschema.validate(document, SCHEMA)
