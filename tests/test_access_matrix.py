"""Every URL pattern × every role × GET and POST, against the expected status table.

A URL pattern missing from EXPECTED fails the test, so a new page cannot skip the access rules.
Django's admin is checked at its index (its own pages check is_staff and model permissions).
"""

import datetime
import json
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from api.services import token_create, token_revoke
from indicators.services import measurement_import_store, measurement_submission_create
from messaging.report_links import link_token
from plan_imports.services import plan_import_store
from priorities.models import Status
from priorities.services import action_record_update, plan_publish, submission_create
from privacy.models import Anonymisation, RemainingMention
from tests.api.world import build_world
from tests.factories import (
    ActionPartnerFactory,
    MeasurementFactory,
    OrganisationFactory,
    PartnerFactory,
    SecretariatFactory,
    report_link_for,
)
from tracker.emails import invitation_token
from tracker.models import User
from tracker.services import partner_invite, user_deactivate

ROLES = ("anonymous", "partner_a", "partner_b", "secretariat", "commissioner")
ALL_405 = (405, 405, 405, 405, 405)

# url name: (GET statuses, POST statuses), each in the order of ROLES.
EXPECTED = {
    "home": ((302, 200, 200, 302, 302), ALL_405),
    "healthz": ((200, 200, 200, 200, 200), ALL_405),
    # Nobody may scrape here: no METRICS_TOKEN or METRICS_ALLOWED_NETWORKS (tests/tracker/test_metrics.py).
    "metrics": ((404, 404, 404, 404, 404), ALL_405),
    # For everyone, signed in or not; edited by the secretariat (an empty POST: no text).
    "privacy-notice": ((200, 200, 200, 200, 200), ALL_405),
    "accessibility-statement": ((200, 200, 200, 200, 200), ALL_405),
    "privacy-notice-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "accessibility-statement-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "login": ((200, 302, 302, 302, 302), (200, 302, 302, 302, 302)),
    "logout": (ALL_405, (302, 302, 302, 302, 302)),
    "accept-invitation": ((200, 200, 200, 200, 200), (400, 400, 400, 400, 400)),
    "organisation-list": ((302, 403, 403, 200, 200), ALL_405),
    "organisation-detail": ((302, 403, 403, 200, 200), ALL_405),
    "organisation-invite": (ALL_405, (302, 403, 403, 400, 403)),
    "user-resend-invitation": (ALL_405, (302, 403, 403, 302, 403)),
    # Each asks first on a page naming the person (GET), then acts (POST): the secretariat only.
    "user-deactivate": ((302, 403, 403, 200, 403), (302, 403, 403, 302, 403)),
    "user-reactivate": ((302, 403, 403, 200, 403), (302, 403, 403, 302, 403)),
    # Signed in without admin rights: the product's 403 (it looped between the admin and sign-in before).
    "admin:index": ((302, 403, 403, 200, 403), (302, 403, 403, 200, 403)),
    "priorities:plan": ((302, 200, 200, 200, 200), ALL_405),
    # The plan switcher's choice: anyone signed in; an empty POST names no plan (a message) and goes home.
    "priorities:plan-choose": (ALL_405, (302, 302, 302, 302, 302)),
    "overview:dashboard": ((302, 403, 403, 200, 200), ALL_405),
    "overview:progress-report": ((302, 403, 403, 200, 200), ALL_405),
    "overview:progress-report-xlsx": ((302, 403, 403, 200, 200), ALL_405),
    "priorities:action-list": ((302, 200, 200, 200, 200), ALL_405),
    "priorities:action-export-csv": ((302, 200, 200, 200, 200), ALL_405),
    "priorities:action-export-xlsx": ((302, 200, 200, 200, 200), ALL_405),
    "priorities:action-detail": ((302, 200, 404, 200, 200), ALL_405),
    "priorities:action-record-update": (ALL_405, (302, 403, 403, 400, 403)),
    "priorities:action-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:submission-create": (ALL_405, (302, 400, 404, 403, 403)),
    "overview:review-queue": ((302, 403, 403, 200, 200), ALL_405),
    "overview:submission-accept": (ALL_405, (302, 403, 403, 302, 403)),
    "overview:submission-return": (ALL_405, (302, 403, 403, 400, 403)),
    "messaging:action-send-reminder": (ALL_405, (302, 403, 403, 302, 403)),
    "indicators:indicator-list": ((302, 200, 200, 200, 200), (302, 405, 405, 405, 405)),
    "indicators:indicator-detail": ((302, 200, 200, 200, 200), (302, 405, 405, 405, 405)),
    "indicators:indicator-export": ((302, 200, 200, 200, 200), ALL_405),
    "indicators:export": ((302, 200, 200, 200, 200), ALL_405),
    # An empty POST is valid here: it links no actions.
    "indicators:indicator-actions": ((302, 403, 403, 200, 403), (302, 403, 403, 302, 403)),
    "indicators:indicator-action-unlink": (ALL_405, (302, 403, 403, 302, 403)),
    "indicators:measure-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:measure-update": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:measurement-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:measurement-update": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:import-upload": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:import-preview": ((302, 403, 403, 200, 403), ALL_405),
    "indicators:import-template": ((302, 403, 403, 200, 403), ALL_405),
    "indicators:import-confirm": (ALL_405, (302, 403, 403, 302, 403)),
    "indicators:import-errors": ((302, 403, 403, 200, 403), ALL_405),
    # Importing a plan (issue 16): the secretariat only. The world's stored file names a new organisation,
    # which an empty POST does not tick: a problem (400), nothing written.
    "plan_imports:plan-import-upload": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "plan_imports:plan-import-template": ((302, 403, 403, 200, 403), ALL_405),
    "plan_imports:plan-import-preview": ((302, 403, 403, 200, 403), ALL_405),
    "plan_imports:plan-import-confirm": (ALL_405, (302, 403, 403, 400, 403)),
    "plan_imports:plan-import-errors": ((302, 403, 403, 200, 403), ALL_405),
    # Only organisation A reports the measure: B gets 404, staff 403.
    "indicators:measurement-submit": ((302, 200, 404, 403, 403), (302, 400, 404, 403, 403)),
    "indicators:measurement-submission-accept": (ALL_405, (302, 403, 403, 302, 403)),
    "indicators:measurement-submission-return": (ALL_405, (302, 403, 403, 302, 403)),
    # Accounts (issue 14). Everyone may ask for a reset; the link redirects to its own form (Django's).
    "account": ((302, 200, 200, 200, 200), ALL_405),
    "password-change": ((302, 200, 200, 200, 200), (302, 400, 400, 400, 400)),
    "password-reset": ((200, 200, 200, 200, 200), (400, 400, 400, 400, 400)),
    "password-reset-sent": ((200, 200, 200, 200, 200), ALL_405),
    "password-reset-confirm": ((302, 302, 302, 302, 302), (302, 302, 302, 302, 302)),
    "password-reset-complete": ((200, 200, 200, 200, 200), ALL_405),
    # Nobody here owes a code: anonymous visitors go to sign in, the others home.
    "two-step-verify": ((302, 302, 302, 302, 302), (302, 302, 302, 302, 302)),
    "two-step-setup": ((302, 200, 200, 200, 200), (302, 400, 400, 400, 400)),
    # Nobody here has a second step: a message and back to the account page.
    "two-step-recovery-codes": (ALL_405, (302, 302, 302, 302, 302)),
    "two-step-turn-off": ((302, 302, 302, 302, 302), (302, 302, 302, 302, 302)),
    "user-two-step-reset": (ALL_405, (302, 403, 403, 302, 403)),
    "organisation-two-step": (ALL_405, (302, 403, 403, 302, 403)),
    # Publishing (the world's plan is published; an empty POST to the update switch changes nothing).
    # GET is the confirmation page naming the plan and what becomes public (or stops being); POST decides.
    "priorities:plan-publish": ((302, 403, 403, 200, 403), (302, 403, 403, 302, 403)),
    "priorities:plan-unpublish": ((302, 403, 403, 200, 403), (302, 403, 403, 302, 403)),
    # Starting the next plan: the secretariat only (an empty POST is refused: no title, no dates).
    "priorities:plan-start-next": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:progress-update-public": (ALL_405, (302, 403, 403, 302, 403)),
    # Building the plan (issue 16): the secretariat only; an empty POST is a form with errors.
    "priorities:plan-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:plan-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:priority-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:priority-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:objective-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:objective-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:action-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:indicator-create": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:indicator-update": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    # The public pages and open data: the same for everyone, signed in or not; read-only.
    "public:plan": ((200, 200, 200, 200, 200), ALL_405),
    "public:objective": ((200, 200, 200, 200, 200), ALL_405),
    "public:objective-page": ((200, 200, 200, 200, 200), ALL_405),
    "public:action": ((200, 200, 200, 200, 200), ALL_405),
    "public:indicator": ((200, 200, 200, 200, 200), ALL_405),
    "public:plan-json": ((200, 200, 200, 200, 200), ALL_405),
    "public:plan-csv": ((200, 200, 200, 200, 200), ALL_405),
    "public:plan-schema": ((200, 200, 200, 200, 200), ALL_405),
    "messaging:notification-choices": ((302, 200, 200, 200, 200), (302, 400, 400, 400, 400)),
    # A reminder's link is for whoever holds it, signed in or not: an empty report is a 400, a new
    # link is sent (200). Tampered, expired, used and replaced links: tests/messaging/test_report_links.py.
    "messaging:report-link": ((200, 200, 200, 200, 200), (400, 400, 400, 400, 400)),
    "messaging:report-link-renew": (ALL_405, (200, 200, 200, 200, 200)),
    # Archiving and deleting (issue 16): the secretariat only. An empty POST to a confirm page is
    # refused (it names no decision); Restore on a live item changes nothing and says so.
    "priorities:action-archive": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:action-restore": (ALL_405, (302, 403, 403, 302, 403)),
    "priorities:objective-archive": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:objective-restore": (ALL_405, (302, 403, 403, 302, 403)),
    "priorities:priority-archive": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "priorities:priority-restore": (ALL_405, (302, 403, 403, 302, 403)),
    "priorities:archived-items": ((302, 403, 403, 200, 403), ALL_405),
    "indicators:indicator-archive": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "indicators:indicator-restore": (ALL_405, (302, 403, 403, 302, 403)),
    # Access tokens (issue 24): everyone signed in has their own; the secretariat sees and revokes anyone's.
    # An empty POST names no token (400); the token revoked here is partner A's.
    "tokens:list": ((302, 200, 200, 200, 200), (302, 400, 400, 400, 400)),
    "tokens:everyone": ((302, 403, 403, 200, 403), ALL_405),
    "tokens:revoke": (ALL_405, (302, 302, 404, 302, 404)),
    # The API's discovery, schema and docs are public; any other address under /api/ is a JSON 404.
    "api:api-root": ((200, 200, 200, 200, 200), ALL_405),
    "api:schema": ((200, 200, 200, 200, 200), ALL_405),
    "api:docs": ((200, 200, 200, 200, 200), ALL_405),
    "api:not-found": ((404, 404, 404, 404, 404), (404, 404, 404, 404, 404)),
    # People, a person's data, retention and the access log (issue 25): the secretariat only. The world's
    # leaver is deactivated, so the secretariat may anonymise them (POST); an empty hold has no reason (400);
    # an empty POST to a remaining mention is an unbound form (400, nothing written).
    "person-list": ((302, 403, 403, 200, 403), ALL_405),
    "person-detail": ((302, 403, 403, 200, 403), ALL_405),
    "privacy:person-export": ((302, 403, 403, 200, 403), ALL_405),
    "privacy:person-anonymise": ((302, 403, 403, 200, 403), (302, 403, 403, 302, 403)),
    "privacy:anonymised": ((302, 403, 403, 200, 403), ALL_405),
    "privacy:mention-edit": ((302, 403, 403, 200, 403), (302, 403, 403, 400, 403)),
    "privacy:retention-hold": (ALL_405, (302, 403, 403, 400, 403)),
    "privacy:retention": ((302, 403, 403, 200, 403), ALL_405),
    "audit:access-log": ((302, 403, 403, 200, 403), ALL_405),
    "audit:access-log-csv": ((302, 403, 403, 200, 403), ALL_405),
}

# --- the API (issue 24): every endpoint × every kind of token, on organisation A's items ----------------

TOKEN_KINDS = (
    "none",
    "revoked",
    "partner_a:read",
    "partner_a:report",
    "partner_b:read",
    "partner_b:report",
    "secretariat:read",
    "secretariat:report",
    "commissioner:read",
)
ANY_TOKEN = (401, 401, 200, 200, 200, 200, 200, 200, 200)
# Organisation A's item: organisation B's tokens get 404, as B's people do in the browser.
NOT_B = (401, 401, 200, 200, 404, 404, 200, 200, 200)
STAFF_ONLY = (401, 401, 403, 403, 403, 403, 200, 200, 200)
STAFF_NO_WRITE = (401, 401, 403, 403, 403, 403, 403, 405, 403)
# No writes here: a read-only token is refused for its scope (403), a reporting one for the method (405).
NO_WRITE = (401, 401, 403, 405, 403, 405, 403, 405, 403)
POST_ONLY = (401, 401, 405, 405, 405, 405, 405, 405, 405)
# Reports on A's action: B's reporting token cannot see it (404); A and the secretariat report (201).
REPORT_ON_A = (401, 401, 403, 201, 403, 404, 403, 201, 403)
# Values of the measure A reports: B sees the measure but may not report it (403).
VALUE_OF_A = (401, 401, 403, 201, 403, 403, 403, 201, 403)
READ_ONLY = (ANY_TOKEN, NO_WRITE)

API_EXPECTED = {
    "api:plan-list": READ_ONLY,
    "api:plan-detail": READ_ONLY,
    "api:priority-list": READ_ONLY,
    "api:priority-detail": READ_ONLY,
    "api:objective-list": READ_ONLY,
    "api:objective-detail": READ_ONLY,
    "api:action-list": READ_ONLY,
    "api:action-detail": (NOT_B, NO_WRITE),
    "api:action-reports": (POST_ONLY, REPORT_ON_A),
    "api:status-history-list": READ_ONLY,
    "api:status-history-detail": (NOT_B, NO_WRITE),
    "api:indicator-list": READ_ONLY,
    "api:indicator-detail": READ_ONLY,
    "api:measure-list": READ_ONLY,
    "api:measure-detail": READ_ONLY,
    "api:measure-values": (POST_ONLY, VALUE_OF_A),
    "api:measurement-list": READ_ONLY,
    "api:measurement-detail": READ_ONLY,
    "api:organisation-list": READ_ONLY,
    "api:organisation-detail": (NOT_B, NO_WRITE),
    "api:submission-list": READ_ONLY,
    "api:submission-detail": (NOT_B, NO_WRITE),
    "api:value-submission-list": READ_ONLY,
    "api:value-submission-detail": (NOT_B, NO_WRITE),
    "api:reminder-list": (STAFF_ONLY, STAFF_NO_WRITE),
    "api:reminder-detail": (STAFF_ONLY, STAFF_NO_WRITE),
    **{
        f"api:feed-{feed}-{fmt}": READ_ONLY
        for feed in (
            "actions",
            "action-partners",
            "status-history",
            "measures",
            "measurements",
            "submissions",
            "value-submissions",
            "organisations",
        )
        for fmt in ("csv", "json")
    },
}
API_BODIES = {
    "api:action-reports": {"status": "on_track", "note": "Reported in the access matrix"},
    "api:measure-values": {"period_start": "2030-01-01", "period_end": "2030-12-31", "value": 4},
}


def url_names(patterns=None, namespace=""):
    """Every named URL pattern of the project, with its namespace."""
    names = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if entry.namespace == "admin":
                names.add("admin:index")
                continue
            names |= url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(f"{namespace}{entry.name}")
    return names


def test_every_url_pattern_is_in_the_table():
    missing = url_names() - set(EXPECTED) - set(API_EXPECTED)
    assert not missing, f"Add these URL patterns to EXPECTED with their access rules: {sorted(missing)}"
    assert not set(EXPECTED) - url_names(), "EXPECTED names URL patterns that no longer exist"
    assert not set(API_EXPECTED) - url_names(), "API_EXPECTED names URL patterns that no longer exist"


@pytest.fixture
def world(db):
    """Two organisations; an action only A partners, with a submission from A; an invited user at A."""
    org_a = OrganisationFactory(slug="org-a")
    org_b = OrganisationFactory(slug="org-b")
    users = {
        "partner_a": PartnerFactory(organisation=org_a),
        "partner_b": PartnerFactory(organisation=org_b),
        "secretariat": SecretariatFactory(is_staff=True, is_superuser=True),
        "commissioner": User.objects.create(username="comm", role=User.Role.COMMISSIONER),
    }
    action = ActionPartnerFactory(organisation=org_a).action
    submission = submission_create(action=action, by=users["partner_a"], status=Status.ON_TRACK, note="n")
    measurement = MeasurementFactory(measure__indicator__code="SI9", measure__reporting_organisation=org_a)
    indicator = measurement.measure.indicator
    indicator.actions.add(action)
    upload = measurement_import_store(
        filename="m.csv",
        content=(
            f"measure,period start,period end,value,source,note\n{measurement.measure.name},1998-01-01,1998-12-31,5,,\n"
        ).encode(),
        by=users["secretariat"],
    )
    plan_upload = plan_import_store(
        filename="plan.csv",
        content=b"priority,priority title,objective,objective title,action,action title,description,lead partners\n"
        b"1,Imported priority,1.1,Imported objective,1.1.1,Imported action,What it does,Imported partner\n",
        by=users["secretariat"],
        new_plan_title="Imported plan",
    )
    value_submission = measurement_submission_create(
        measure=measurement.measure,
        by=users["partner_a"],
        period_start=datetime.date(1999, 1, 1),
        period_end=datetime.date(1999, 12, 31),
        value=3,
    )
    update = action_record_update(action=action, status=Status.ON_TRACK, note="u", by=users["secretariat"])
    for plan in {action.objective.priority.plan, indicator.plan}:
        plan_publish(plan=plan, by=users["secretariat"])
    report_link = report_link_for(action=action, user=users["partner_a"])
    invitation = partner_invite(
        email="new@example.org", organisation=org_a, first_name="N", last_name="U", by=users["secretariat"]
    )
    forgetful = PartnerFactory(organisation=org_a)
    departed = PartnerFactory(organisation=org_a, is_active=False)
    # Two people who left: one deactivated; one anonymised, whose name a note still holds (made directly:
    # anonymising scans every table, too slow for a fixture every test builds; tests/privacy tests it).
    leaver = PartnerFactory(organisation=org_a, first_name="Lee", last_name="Leaver")
    user_deactivate(user=leaver, by=users["secretariat"])
    gone = PartnerFactory(organisation=org_a, first_name="Former", last_name="user", is_active=False)
    note = action_record_update(action=action, status=Status.ON_TRACK, note="Agreed with Gwen", by=users["secretariat"])
    anonymisation = Anonymisation.objects.create(person=gone, done_by=users["secretariat"], via="secretariat")
    mention = RemainingMention.objects.create(
        anonymisation=anonymisation, model="priorities.ProgressUpdate", object_pk=str(note.pk), field="note"
    )
    kwargs = {
        "accept-invitation": {"token": invitation_token(invitation)},
        "organisation-detail": {"slug": org_a.slug},
        "organisation-invite": {"slug": org_a.slug},
        "user-resend-invitation": {"slug": org_a.slug, "user_id": invitation.user_id},
        "user-deactivate": {"slug": org_a.slug, "user_id": invitation.user_id},
        "user-reactivate": {"slug": org_a.slug, "user_id": departed.pk},
        "priorities:action-detail": {"pk": action.pk},
        "priorities:action-record-update": {"pk": action.pk},
        "priorities:action-edit": {"pk": action.pk},
        "priorities:submission-create": {"pk": action.pk},
        "overview:submission-accept": {"pk": submission.pk},
        "overview:submission-return": {"pk": submission.pk},
        "messaging:action-send-reminder": {"pk": action.pk},
        "indicators:indicator-detail": {"pk": indicator.pk},
        "indicators:indicator-export": {"pk": indicator.pk, "fmt": "csv"},
        "indicators:export": {"fmt": "xlsx"},
        "indicators:import-template": {"fmt": "csv"},
        "indicators:indicator-actions": {"pk": indicator.pk},
        "indicators:indicator-action-unlink": {"pk": indicator.pk, "action_pk": action.pk},
        "indicators:measure-create": {"pk": indicator.pk},
        "indicators:measure-update": {"pk": measurement.measure.pk},
        "indicators:measurement-create": {"pk": measurement.measure.pk},
        "indicators:measurement-update": {"pk": measurement.pk},
        "indicators:import-preview": {"token": upload.pk},
        "indicators:import-confirm": {"token": upload.pk},
        "indicators:import-errors": {"token": upload.pk},
        "plan_imports:plan-import-template": {"fmt": "xlsx"},
        "plan_imports:plan-import-preview": {"token": plan_upload.pk},
        "plan_imports:plan-import-confirm": {"token": plan_upload.pk},
        "plan_imports:plan-import-errors": {"token": plan_upload.pk},
        "indicators:measurement-submit": {"pk": measurement.measure.pk},
        "indicators:measurement-submission-accept": {"pk": value_submission.pk},
        "indicators:measurement-submission-return": {"pk": value_submission.pk},
        # For someone who is not signed in here (signing in voids a reset link).
        "password-reset-confirm": {
            "uidb64": urlsafe_base64_encode(force_bytes(forgetful.pk)),
            "token": default_token_generator.make_token(forgetful),
        },
        "user-two-step-reset": {"user_id": users["partner_a"].pk},
        "organisation-two-step": {"slug": org_a.slug},
        "priorities:plan-publish": {"pk": action.objective.priority.plan_id},
        "priorities:plan-unpublish": {"pk": action.objective.priority.plan_id},
        "priorities:plan-start-next": {"pk": action.objective.priority.plan_id},
        "priorities:progress-update-public": {"pk": action.pk, "update_pk": update.pk},
        "priorities:plan-edit": {"pk": action.objective.priority.plan_id},
        "priorities:priority-create": {"pk": action.objective.priority.plan_id},
        "priorities:priority-edit": {"pk": action.objective.priority_id},
        "priorities:objective-create": {"pk": action.objective.priority_id},
        "priorities:objective-edit": {"pk": action.objective_id},
        "priorities:action-create": {"pk": action.objective_id},
        "indicators:indicator-create": {"plan_pk": indicator.plan_id},
        "indicators:indicator-update": {"pk": indicator.pk},
        "public:objective": {"pk": action.objective_id},
        "public:objective-page": {"pk": action.objective_id, "page": 1},
        "public:action": {"pk": action.pk},
        "public:indicator": {"pk": indicator.pk},
        "messaging:report-link": {"token": link_token(report_link)},
        "messaging:report-link-renew": {"token": link_token(report_link)},
        "priorities:action-archive": {"pk": action.pk},
        "priorities:action-restore": {"pk": action.pk},
        "priorities:objective-archive": {"pk": action.objective_id},
        "priorities:objective-restore": {"pk": action.objective_id},
        "priorities:priority-archive": {"pk": action.objective.priority_id},
        "priorities:priority-restore": {"pk": action.objective.priority_id},
        "indicators:indicator-archive": {"pk": indicator.pk},
        "indicators:indicator-restore": {"pk": indicator.pk},
        "tokens:revoke": {"pk": _token(users["partner_a"], "read")[0].pk},
        "person-detail": {"user_id": users["partner_a"].pk},
        "privacy:person-export": {"user_id": users["partner_a"].pk},
        "privacy:person-anonymise": {"user_id": leaver.pk},
        "privacy:anonymised": {"user_id": gone.pk},
        "privacy:mention-edit": {"user_id": gone.pk, "mention_id": mention.pk},
        "privacy:retention-hold": {"user_id": leaver.pk},
    }
    return users, kwargs


def _url(name, kwargs):
    from django.urls import reverse

    return reverse(name, kwargs=kwargs.get(name, {}))


CASES = [
    (name, method, index, role)
    for name in sorted(EXPECTED)
    for method in ("GET", "POST")
    for index, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("name", "method", "index", "role"), CASES)
def test_access(world, name, method, index, role):
    users, kwargs = world
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    url = _url(name, kwargs)
    response = client.get(url) if method == "GET" else client.post(url, {})
    expected = EXPECTED[name][0 if method == "GET" else 1][index]
    assert response.status_code == expected, f"{method} {url} as {role}"
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        title = re.search(r"<title>(.*?)</title>", response.content.decode(), flags=re.S).group(1)
        assert "<" not in title and "\n" not in title.strip(), f"{url} has a broken <title>: {title[:200]!r}"


STATE_CHANGING = [name for name, (_, post) in EXPECTED.items() if any(code != 405 for code in post)]


@pytest.mark.parametrize("name", STATE_CHANGING)
def test_state_changing_urls_refuse_a_post_without_a_csrf_token(world, name):
    users, kwargs = world
    allowed = [role for role, code in zip(ROLES, EXPECTED[name][1], strict=True) if code not in (403, 404, 405)]
    for role in allowed:
        client = Client(enforce_csrf_checks=True)
        if role != "anonymous":
            client.force_login(users[role])
        response = client.post(_url(name, kwargs), {})
        assert response.status_code == 403, f"POST {name} as {role} without a CSRF token"


def _token(user, scope):
    return token_create(user=user, name=f"{scope} token", scope=scope, days=9, verified=True, client="test")


def api_kwargs(name, ids):
    """The URL's kwargs: the id of organisation A's item of the endpoint's kind (none for lists and feeds)."""
    basename = name.removeprefix("api:").rsplit("-", 1)[0]
    if name.endswith(("-list",)) or name.startswith("api:feed-"):
        return {}
    return {"pk": ids.get(basename, 1)}


@pytest.fixture
def api_world(db):
    world = build_world()
    update = action_record_update(action=world.action_a, status="on_track", note="u", by=world.users["secretariat"])
    ids = {
        "plan": world.action_a.objective.priority.plan_id,
        "priority": world.action_a.objective.priority_id,
        "objective": world.action_a.objective_id,
        "action": world.action_a.pk,
        "status-history": update.pk,
        "indicator": world.measure_a.indicator_id,
        "measure": world.measure_a.pk,
        "measurement": world.measurement.pk,
        "organisation": world.orgs["a"].pk,
        "submission": world.submission_a.pk,
        "value-submission": world.value_submission_a.pk,
        "reminder": world.reminder_a.pk,
    }
    revoked, secret = _token(world.users["partner_a"], "read")
    token_revoke(token=revoked, by=world.users["partner_a"], client="test")
    secrets = {"none": None, "revoked": secret}
    for kind in TOKEN_KINDS[2:]:
        role, scope = kind.split(":")
        secrets[kind] = world.token(role, scope)
    return world, ids, secrets


def test_every_api_endpoint_is_in_the_api_table():
    api_names = {name for name in url_names() if name.startswith("api:")} - set(EXPECTED)
    assert api_names == set(API_EXPECTED), f"Add to API_EXPECTED: {sorted(api_names - set(API_EXPECTED))}"


@pytest.mark.parametrize("name", sorted(API_EXPECTED))
def test_api_access(api_world, name):
    """GET and POST with no token, a revoked one, and a token of every role and scope, on A's items."""
    from django.urls import reverse

    world, ids, secrets = api_world
    url = reverse(name, kwargs=api_kwargs(name, ids))
    body = json.dumps(API_BODIES.get(name, {}))
    for method, expected in zip(("GET", "POST"), API_EXPECTED[name], strict=True):
        for kind, status in zip(TOKEN_KINDS, expected, strict=True):
            client = world.client(secret=secrets[kind])
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, body, content_type="application/json")
            assert response.status_code == status, f"{method} {url} with {kind}: {response.content[:300]!r}"
            if status >= 400:
                assert response.json()["status"] == status  # the API's one error shape, never an HTML page
