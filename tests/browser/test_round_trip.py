"""Guard: every form that edits something that exists, saved untouched, changes nothing.

Each edit form is opened in the browser by a user who may use it and saved without touching a
field; then every row of the product's tables must be as it was (the same values, no new history
row). The URL patterns are walked as the access matrix walks them, so a new edit form without a
case in ROUND_TRIP fails `test_every_edit_form_has_a_round_trip_case` with what to add.
"""

import dataclasses
import json
from collections.abc import Callable

import pytest
from django.apps import apps
from django.core import serializers
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from playwright.sync_api import expect


@dataclasses.dataclass(frozen=True)
class Case:
    """How to open one edit form: who, on which object (from the demo data), and its save button."""

    kwargs: Callable[[], dict]
    username: str = "secretariat"
    save: str = "main form[method=post] button[type=submit]"


def _pk(model, **lookup):
    return lambda: {"pk": apps.get_model(model).objects.filter(**lookup).order_by("pk").first().pk}


def _admin(model, **lookup):
    """A Django admin change form: its pk is `object_id`, and its main save button is `_save`."""
    return Case(
        kwargs=lambda: {"object_id": apps.get_model(model).objects.filter(**lookup).order_by("pk").first().pk},
        save="input[type=submit][name=_save]",
    )


# url name -> how to open it. A new edit form needs a line here (the failure message says so).
ROUND_TRIP = {
    "priorities:action-edit": Case(_pk("priorities.Action", code="5.11")),
    "indicators:measure-update": Case(_pk("indicators.Measure")),
    "indicators:measurement-update": Case(_pk("indicators.Measurement")),
    "indicators:indicator-actions": Case(_pk("indicators.SuccessIndicator", actions__isnull=False)),
    "priorities:plan-edit": Case(_pk("priorities.Plan")),
    "priorities:priority-edit": Case(_pk("priorities.Priority")),
    "priorities:objective-edit": Case(_pk("priorities.Objective", code="5.2")),
    "indicators:indicator-update": Case(_pk("indicators.SuccessIndicator")),
    # Organisations, people and the reminder schedule are edited in the admin.
    "admin:tracker_organisation_change": _admin("tracker.Organisation", slug="europol"),
    "admin:tracker_user_change": _admin("tracker.User", username="partner-europol"),
    "admin:priorities_plan_change": _admin("priorities.Plan"),
    "admin:priorities_priority_change": _admin("priorities.Priority"),
    "admin:priorities_objective_change": _admin("priorities.Objective"),
    "admin:priorities_action_change": _admin("priorities.Action", code="5.24"),
    "admin:indicators_successindicator_change": _admin("indicators.SuccessIndicator"),
    "admin:indicators_measure_change": _admin("indicators.Measure"),
    "admin:indicators_measurement_change": _admin("indicators.Measurement"),
    "admin:django_celery_beat_periodictask_change": _admin("django_celery_beat.PeriodicTask"),
    "admin:django_celery_beat_crontabschedule_change": _admin("django_celery_beat.CrontabSchedule"),
    # A person's own email choices (no object in the address: it is always the signed-in person's).
    "messaging:notification-choices": Case(lambda: {}, username="partner-europol"),
    # The privacy notice and the accessibility statement (no object in the address: one page each).
    "privacy-notice-edit": Case(lambda: {}),
    "accessibility-statement-edit": Case(lambda: {}),
}

# Forms whose save comes back to the same address (with a message) rather than moving on.
SAVES_IN_PLACE = {"messaging:notification-choices"}

# URL patterns about one existing object that are not forms editing it: say why.
NOT_EDIT_FORMS = {
    "accept-invitation": "sets a first password; an empty one is refused by design",
    "admin:auth_user_password_change": "sets a new password; an empty one is refused by design",
    "organisation-detail": "its only form invites a new person",
    "organisation-invite": "POST only: creates a person",
    "user-resend-invitation": "a button: sends a new link",
    "user-deactivate": "a confirmation: deactivates the person, edits no field",
    "user-reactivate": "a confirmation: reactivates the person, edits no field",
    "priorities:action-detail": "its forms record a new update or submission",
    "priorities:action-record-update": "POST only: records a new update",
    "priorities:submission-create": "POST only: a new submission",
    "overview:submission-accept": "a button: a decision",
    "overview:submission-return": "a decision with a reason",
    "messaging:action-send-reminder": "a button: sends a reminder",
    "priorities:plan-start-next": "creates the next plan (a copy); the plan it starts from is not edited",
    "indicators:indicator-detail": "a page; its buttons unlink actions",
    "indicators:measure-create": "creates a measure",
    "indicators:indicator-action-unlink": "a button: unlinks an action",
    "indicators:indicator-export": "a download",
    "indicators:measurement-create": "records a new value",
    "indicators:measurement-submit": "a partner reports a new value",
    "indicators:measurement-submission-accept": "a button: a decision",
    "indicators:measurement-submission-return": "a decision with a reason",
    "indicators:import-preview": "a preview of an upload",
    "indicators:import-confirm": "POST only: writes an upload",
    "indicators:import-template": "a download",
    "indicators:export": "a download",
    "admin:priorities_progressupdate_change": "read-only in the admin: updates are history",
    "admin:priorities_actionchange_change": "read-only: the audit trail",
    "admin:indicators_indicatorchange_change": "read-only: the audit trail",
    "admin:priorities_planchange_change": "read-only: the audit trail",
    "admin:messaging_reminder_change": "the log of reminders sent, written by the reminder job",
    "admin:auth_group_change": "Plan Tracker uses roles, not groups: there are none to edit",
    "admin:django_celery_beat_clockedschedule_change": "the reminder job runs on a crontab schedule",
    "admin:django_celery_beat_solarschedule_change": "the reminder job runs on a crontab schedule",
    "admin:django_celery_beat_intervalschedule_change": "the reminder job runs on a crontab schedule",
    "admin:axes_accessattempt_change": "sign-in lock-out records, not product data",
    "admin:axes_accesslog_change": "sign-in records, not product data",
    "admin:axes_accessfailurelog_change": "sign-in records, not product data",
    "admin:otp_totp_totpdevice_change": "a second step is reset through 'Reset two-step sign-in' (logged), not edited",
    "admin:otp_static_staticdevice_change": "recovery codes are made anew from the account page, not edited",
    "admin:messaging_notification_change": "the log of notifications sent, written by the outbox",
    "tokens:revoke": "a button: revokes an access token",
    "api:action-reports": "the API: POST only, a new report",
    "api:measure-values": "the API: POST only, a new value",
    **{
        f"api:{name}-detail": "the API: JSON for tools, no form"
        for name in (
            "plan",
            "priority",
            "objective",
            "action",
            "status-history",
            "indicator",
            "measure",
            "measurement",
            "organisation",
            "submission",
            "value-submission",
            "reminder",
        )
    },
    "indicators:import-errors": "a download",
    "plan_imports:plan-import-preview": "a preview of an upload; its form confirms the import",
    "plan_imports:plan-import-confirm": "POST only: writes an upload",
    "plan_imports:plan-import-template": "a download",
    "plan_imports:plan-import-errors": "a download",
    "organisation-two-step": "a button: requires a second step or not",
    "password-reset-confirm": "sets a new password; an empty one is refused by design",
    "user-two-step-reset": "a button: resets a second step",
    "priorities:plan-publish": "a confirmation: publishes, edits no field",
    "priorities:plan-unpublish": "a confirmation: unpublishes, edits no field",
    "priorities:progress-update-public": "a button: shows or withdraws an update",
    "messaging:report-link": "a partner's report from an email link: a new submission",
    "messaging:report-link-renew": "POST only: sends a new link",
    "priorities:priority-create": "creates a priority",
    "priorities:objective-create": "creates an objective",
    "priorities:action-create": "creates an action",
    "indicators:indicator-create": "creates an indicator",
    "public:action": "a public page",
    "public:indicator": "a public page",
    "public:objective": "a public page",
    "public:objective-page": "a public page",
    "priorities:action-archive": "a confirmation: archives or deletes the action, edits no field",
    "priorities:action-restore": "a button: restores",
    "priorities:objective-archive": "a confirmation: archives or deletes the objective, edits no field",
    "priorities:objective-restore": "a button: restores",
    "priorities:priority-archive": "a confirmation: archives or deletes the priority, edits no field",
    "priorities:priority-restore": "a button: restores",
    "indicators:indicator-archive": "a confirmation: archives or deletes the indicator, edits no field",
    "indicators:indicator-restore": "a button: restores",
    "person-detail": "a page; its forms hold an account or lead to anonymising it",
    "privacy:person-export": "a download",
    "privacy:person-anonymise": "a confirmation: anonymises, edits no field",
    "privacy:anonymised": "a page listing what remains to edit",
    "privacy:mention-edit": "resolves a remaining mention: saved untouched it is marked kept, by design",
    "privacy:retention-hold": "POST only: holds or releases an account",
    "admin:audit_accessevent_change": "read-only: the access log",
    "admin:audit_securityevent_change": "read-only: the security log",
    "admin:privacy_retentionhold_change": "read-only: holds are set and released on the person's page",
    "admin:privacy_anonymisation_change": "read-only: the record of an anonymisation",
    "admin:privacy_retentionrun_change": "read-only: the record of a retention run",
}

# Bookkeeping a save may touch without changing anything a person entered.
VOLATILE_FIELDS = {"updated_at", "last_login", "date_changed"}
# Django's own admin log notes every admin save ("No fields changed."): not the product's history,
# which is ActionChange, IndicatorChange, ProgressUpdate and the rest, all compared below.
NOT_COMPARED = {"admin.logentry", "sessions.session", "django_celery_beat.periodictasks", "tracker.datageneration"}
# The access and security logs note every admin page and sign-in, by design (README, "Audit").
NOT_COMPARED |= {"audit.accessevent", "audit.securityevent"}


def object_url_names(patterns=None, namespace="", *, with_arguments=True):
    """Every named URL pattern that takes arguments (an object), admin change forms included."""
    names = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= object_url_names(entry.url_patterns, inner, with_arguments=with_arguments)
        elif isinstance(entry, URLPattern) and entry.name and (entry.pattern.regex.groups or not with_arguments):
            name = f"{namespace}{entry.name}"
            if not name.startswith("admin:") or name.endswith("_change"):
                names.add(name)
    return names


def test_every_edit_form_has_a_round_trip_case():
    missing = object_url_names() - set(ROUND_TRIP) - set(NOT_EDIT_FORMS)
    assert not missing, (
        f"New URL patterns about an existing object: {sorted(missing)}. If one is a form that edits it, add "
        "'name': Case(kwargs=..., username=..., save=...) to ROUND_TRIP in tests/browser/test_round_trip.py "
        "(saving it untouched must change nothing); otherwise add it to NOT_EDIT_FORMS saying why."
    )
    gone = (set(ROUND_TRIP) | set(NOT_EDIT_FORMS)) - object_url_names(with_arguments=False)
    assert not gone, f"ROUND_TRIP or NOT_EDIT_FORMS name URL patterns that no longer exist: {sorted(gone)}"


def snapshot():
    """Every row of every product table, less bookkeeping, as comparable text."""
    rows = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in NOT_COMPARED or model._meta.app_label in ("contenttypes", "axes"):
            continue
        data = json.loads(serializers.serialize("json", model._default_manager.order_by("pk")))
        for row in data:
            for field in VOLATILE_FIELDS:
                row["fields"].pop(field, None)
        rows[label] = data
    return rows


def differences(before, after):
    found = []
    for label in sorted(set(before) | set(after)):
        old = {row["pk"]: row["fields"] for row in before.get(label, [])}
        new = {row["pk"]: row["fields"] for row in after.get(label, [])}
        for pk in sorted(set(old) | set(new), key=str):
            if pk not in old:
                found.append(f"{label} {pk}: new row {new[pk]}")
            elif pk not in new:
                found.append(f"{label} {pk}: row deleted")
            else:
                for field in sorted(set(old[pk]) | set(new[pk])):
                    if old[pk].get(field) != new[pk].get(field):
                        found.append(f"{label} {pk}.{field}: {old[pk].get(field)!r} -> {new[pk].get(field)!r}")
    return found


@pytest.fixture
def admin_secretariat(demo):
    import importlib

    from tracker.models import User

    # The reminder schedule comes from a migration, which a flushed test database no longer has.
    schedule = importlib.import_module("priorities.migrations.0006_reminder_schedule")
    schedule.create_schedule(apps, None)
    # The demo's secretariat account is an admin superuser, as `make run` makes it.
    assert User.objects.filter(username="secretariat", is_superuser=True).exists()


@pytest.mark.parametrize("url_name", sorted(ROUND_TRIP))
def test_saving_an_untouched_form_changes_nothing(admin_secretariat, sign_in, live_server, page, url_name):
    case = ROUND_TRIP[url_name]
    url = live_server.url + reverse(url_name, kwargs=case.kwargs())
    sign_in(case.username)
    response = page.goto(url)
    assert response.status == 200, f"{url_name}: {url} answered {response.status}"
    before = snapshot()
    with page.expect_navigation():
        page.locator(case.save).first.click()
    page.wait_for_load_state()
    expect(page.locator(".govuk-error-summary, .errornote")).to_have_count(0)
    saved_in_place = url_name.startswith("admin:") or url_name in SAVES_IN_PLACE
    assert page.url != url or saved_in_place, f"{url_name}: the form did not save"
    changed = differences(before, snapshot())
    assert not changed, f"Saving {url_name} untouched changed:\n" + "\n".join(changed)
