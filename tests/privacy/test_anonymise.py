"""Anonymising a deactivated person: "Former user N" everywhere, in one transaction, and every page still renders."""

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AccessEvent, SecurityEvent
from messaging.models import Notification, Reminder, ReportLink
from priorities.models import ProgressUpdate, Status, Submission
from priorities.services import submission_create
from privacy.models import Anonymisation, RemainingMention, RetentionHold
from privacy.services import person_anonymise, retention_hold_set
from tests.privacy.history import person_with_history
from tests.test_access_matrix import EXPECTED, ROLES, _url, world  # noqa: F401 (world is a fixture)
from tracker import personal_data
from tracker.models import User
from tracker.services import user_deactivate

NAME, EMAIL = "Zelda Quartermaine", "zelda.quartermaine@agency.example"
# What must be nowhere once she is anonymised: her name in parts, her email, her username (her email here,
# as for every partner invited) and the address she signed in from is kept only with the pseudonym.
TRACES = ["Zelda", "Quartermaine", "zelda.quartermaine"]


def text_cells_holding(terms):
    """{model.field: [pk]} of every text column, of every model, whose value holds one of `terms` (any case).

    Written here, apart from the privacy app's own scan, so that the test does not check the code with itself:
    every CharField, TextField and JSONField (as text), of every installed model, substrings not words.
    """
    found = {}
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField | models.JSONField):
                continue
            queryset = model._default_manager.annotate(_text=Cast(field.attname, TextField()))
            condition = Q()
            for term in terms:
                condition |= Q(_text__icontains=term)
            pks = list(queryset.filter(condition).values_list("pk", flat=True))
            if pks:
                found[f"{model._meta.label}.{field.name}"] = pks
    return found


@pytest.fixture
def zelda(world):  # noqa: F811
    users, kwargs = world
    organisation = users["partner_a"].organisation
    action = Submission.objects.get(submitted_by=users["partner_a"]).action
    from indicators.models import Measure

    measure = Measure.objects.get(reporting_organisation=organisation)
    person, client = person_with_history(
        organisation=organisation,
        action=action,
        measure=measure,
        secretariat=users["secretariat"],
        first_name="Zelda",
        last_name="Quartermaine",
        email=EMAIL,
        address="198.51.100.21",
    )
    return person, client, users, kwargs


def test_anonymising_leaves_no_trace_of_them_and_every_page_still_renders(zelda):
    person, her_client, users, kwargs = zelda
    assert set(text_cells_holding(TRACES)) >= {
        "tracker.User.username",
        "messaging.Notification.text",
        "messaging.Reminder.recipient_email",
        "messaging.ReportLink.recipient_email",
        "audit.SecurityEvent.message",
        "axes.AccessLog.username",
        "admin.LogEntry.object_repr",
    }, "the history should name her in all these places before"
    secretariat = users["secretariat"]
    client = Client()
    client.force_login(secretariat)
    assert client.post(reverse("user-deactivate", args=[person.organisation.slug, person.pk])).status_code == 302
    assert client.get(reverse("privacy:person-anonymise", args=[person.pk])).status_code == 200
    response = client.post(reverse("privacy:person-anonymise", args=[person.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("privacy:anonymised", args=[person.pk])

    assert text_cells_holding(TRACES) == {}
    person.refresh_from_db()
    assert (str(person), person.username, person.email) == (f"Former user {person.pk}", f"former-user-{person.pk}", "")
    assert not person.has_usable_password() and not person.is_active
    # Her records stay, now hers as "Former user N".
    assert ProgressUpdate.objects.filter(author=person).count() == 1
    assert Submission.objects.filter(submitted_by=person).count() == 2
    assert SecurityEvent.objects.filter(person=person, message__contains=f"user=former-user-{person.pk} ").exists()
    # What served only her is gone: sessions, second steps, emails not yet sent; her links no longer work.
    assert not TOTPDevice.objects.filter(user=person).exists() and not StaticDevice.objects.filter(user=person).exists()
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(person.pk)]
    assert her_client.get(reverse("account")).status_code == 302
    assert not Reminder.objects.filter(recipient_user=person, state=Reminder.State.PENDING).exists()
    assert Reminder.objects.filter(recipient_user=person, state=Reminder.State.SENT).exists()
    assert not Notification.objects.filter(recipient_user=person, state=Notification.State.PENDING).exists()
    assert ReportLink.objects.get(recipient_user=person).nonce.startswith("anonymised:")
    anonymisation = Anonymisation.objects.get(person=person)
    assert anonymisation.done_by == secretariat and not anonymisation.mentions.exists()

    # Every page of the access matrix still answers as it did, for everyone who may open it.
    for role in ("secretariat", "commissioner", "partner_b", "partner_a"):
        viewer = Client()
        viewer.force_login(users[role])
        for name, (get, _post) in sorted(EXPECTED.items()):
            if name in {"logout"}:
                continue
            status = viewer.get(_url(name, kwargs)).status_code
            assert status == get[ROLES.index(role)], f"{name} as {role} answered {status}"
    # The pages that showed her show "Former user N" (of her organisation) instead.
    pseudonym = f"Former user {person.pk}"
    action = ProgressUpdate.objects.get(author=person).action
    for url in (
        reverse("priorities:action-detail", args=[action.pk]),
        reverse("overview:review-queue"),
        reverse("organisation-detail", args=[person.organisation.slug]),
        reverse("person-detail", args=[person.pk]),
        reverse("person-list") + "?active=0",
        reverse("audit:access-log"),
    ):
        page = client.get(url).content.decode()
        assert pseudonym in page, url
        assert not any(trace.lower() in page.lower() for trace in TRACES), url
    assert (
        f"{pseudonym}, {person.organisation.name}"
        in client.get(reverse("priorities:action-detail", args=[action.pk])).content.decode()
    )


def test_a_note_that_still_names_them_is_listed_for_the_secretariat_to_edit_or_keep(zelda):
    person, _, users, _ = zelda
    secretariat = users["secretariat"]
    action = Submission.objects.filter(submitted_by=person).first().action
    mine = submission_create(action=action, by=person, status=Status.ON_TRACK, note="Ask Zelda Quartermaine (me).")
    hers = submission_create(action=action, by=users["partner_a"], status=Status.ON_TRACK, note="Copied zelda too.")
    user_deactivate(user=person, by=secretariat)
    anonymisation = person_anonymise(person=person, by=secretariat)
    mentions = {(m.model, m.object_pk, m.field): m for m in anonymisation.mentions.all()}
    assert set(mentions) == {("priorities.Submission", str(mine.pk), "note")}, "a note naming her, not another"
    # "zelda" alone is not her name: the secretariat's own reading of the list, not a word replaced blindly.
    left = text_cells_holding(TRACES)
    assert sorted(left.pop("priorities.Submission.note")) == sorted([mine.pk, hers.pk])
    # The other note, copied into the reviewers' email; hers was renamed there (the product wrote that email).
    assert set(left) == {"messaging.Notification.text"}
    assert all(
        "Copied zelda too." in n.text for n in Notification.objects.filter(pk__in=left["messaging.Notification.text"])
    )

    client = Client()
    client.force_login(secretariat)
    listing = client.get(reverse("privacy:anonymised", args=[person.pk])).content.decode()
    assert "Ask Zelda Quartermaine (me)." in listing and "1 still to edit or keep" in listing
    mention = mentions[("priorities.Submission", str(mine.pk), "note")]
    edit = reverse("privacy:mention-edit", args=[person.pk, mention.pk])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"text": "x" * 5001}).status_code == 400  # the note's own limit
    assert client.post(edit, {"text": "Ask the former contact."}).status_code == 302
    mine.refresh_from_db()
    mention.refresh_from_db()
    assert mine.note == "Ask the former contact." and mention.outcome == RemainingMention.Outcome.EDITED
    assert mention.resolved_by == secretariat
    assert text_cells_holding(["Quartermaine"]) == {}
    response = client.post(edit, {"text": "again"})
    assert response.status_code == 400 and "Edited by" in response.content.decode()


def test_saving_a_remaining_text_untouched_keeps_it(zelda):
    person, _, users, _ = zelda
    action = Submission.objects.filter(submitted_by=person).first().action
    mine = submission_create(action=action, by=person, status=Status.ON_TRACK, note="Zelda Quartermaine wrote this")
    user_deactivate(user=person, by=users["secretariat"])
    mention = person_anonymise(person=person, by=users["secretariat"]).mentions.get()
    client = Client()
    client.force_login(users["secretariat"])
    edit = reverse("privacy:mention-edit", args=[person.pk, mention.pk])
    form_text = client.get(edit).context["form"].initial["text"]
    assert client.post(edit, {"text": form_text}).status_code == 302
    mention.refresh_from_db()
    mine.refresh_from_db()
    assert mention.outcome == RemainingMention.Outcome.KEPT and mine.note == "Zelda Quartermaine wrote this"


def test_anonymising_refuses_an_active_a_held_an_anonymised_person_or_yourself(zelda):
    person, _, users, _ = zelda
    secretariat = users["secretariat"]
    with pytest.raises(ValidationError, match="is active: deactivate them first"):
        person_anonymise(person=person, by=secretariat)
    user_deactivate(user=person, by=secretariat)
    retention_hold_set(person=person, reason="An open case.", by=secretariat)
    with pytest.raises(ValidationError, match="held: release the hold first"):
        person_anonymise(person=person, by=secretariat)
    RetentionHold.objects.all().delete()
    with pytest.raises(ValidationError, match="your own account"):
        person_anonymise(person=secretariat, by=secretariat)
    person_anonymise(person=person, by=secretariat)
    with pytest.raises(ValidationError, match="already anonymised"):
        person_anonymise(person=person, by=secretariat)
    client = Client()
    client.force_login(secretariat)
    assert client.get(reverse("privacy:person-anonymise", args=[person.pk])).status_code == 409
    assert client.post(reverse("privacy:person-anonymise", args=[person.pk])).status_code == 302


def test_anonymising_is_one_transaction_a_failure_changes_nothing(zelda, monkeypatch):
    person, _, users, _ = zelda
    user_deactivate(user=person, by=users["secretariat"])
    before = text_cells_holding(TRACES)
    sessions = Session.objects.count()

    def broken(person, pseudonym):
        raise RuntimeError("a step failed half-way")

    monkeypatch.setattr(
        personal_data, "ANONYMISERS", [*personal_data.ANONYMISERS, personal_data.Anonymiser("broken", (), broken)]
    )
    from privacy import services

    monkeypatch.setattr(services, "ANONYMISERS", personal_data.ANONYMISERS)
    with pytest.raises(RuntimeError):
        person_anonymise(person=person, by=users["secretariat"])
    assert text_cells_holding(TRACES) == before
    assert Session.objects.count() == sessions and TOTPDevice.objects.filter(user=person).exists()
    assert User.objects.get(pk=person.pk).get_full_name() == NAME
    assert not Anonymisation.objects.filter(person=person).exists()


def test_a_search_for_them_in_an_address_is_renamed_in_the_access_log(zelda):
    person, _, users, _ = zelda
    client = Client()
    client.force_login(users["secretariat"])
    client.get(reverse("audit:access-log-csv"), {"who": "Zelda Quartermaine"}).getvalue()
    assert AccessEvent.objects.filter(path__contains="Zelda+Quartermaine").exists()
    user_deactivate(user=person, by=users["secretariat"])
    person_anonymise(person=person, by=users["secretariat"])
    assert not AccessEvent.objects.filter(path__icontains="quartermaine").exists()
    assert AccessEvent.objects.filter(path__contains=f"who=Former user {person.pk}").exists()
