"""Reporting from a reminder's link without signing in: one person, one action, one report, 14 days."""

import datetime
import io
import re

import pytest
from django.core import mail, signing
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from messaging.models import Notification, Reminder, ReportLink
from messaging.reminders import reminders_run_daily
from messaging.report_links import SALT, link_token
from priorities.models import ActionPartner, Status, Submission, UpdateFrequency
from priorities.services import submission_accept
from tests.factories import ActionFactory, ActionPartnerFactory, PartnerFactory, SecretariatFactory, report_link_for

TODAY = datetime.date(2025, 6, 11)


@pytest.fixture(autouse=True)
def _eager_sending(settings):
    from tracker.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://tracker.example.org"
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def owner(db):
    return SecretariatFactory(username="owner", email="owner@example.org")


@pytest.fixture
def ann(org_a):
    return PartnerFactory(username="ann", email="ann@example.org", organisation=org_a)


@pytest.fixture
def action(owner, org_a):
    action = ActionFactory(
        code="5.31",
        title="Joint investigations",
        description="SECRET DESCRIPTION TEXT",
        owner=owner,
        update_frequency=UpdateFrequency.QUARTERLY,
        status=Status.ON_TRACK,
    )
    ActionPartnerFactory(action=action, organisation=org_a)
    return action


@pytest.fixture
def link(action, ann):
    return report_link_for(action=action, user=ann)


def path(link):
    return reverse("messaging:report-link", kwargs={"token": link_token(link)})


REPORT = {"status": Status.AT_RISK, "note": "Partner withdrew", "evidence_url": "https://example.org/minutes"}


def test_the_page_shows_only_the_action_s_title_status_and_due_date_without_a_session(action, link, org_a):
    response = Client().get(path(link))
    html = response.content.decode()
    assert response.status_code == 200
    assert "5.31 Joint investigations" in html and "On track" in html
    assert "SECRET DESCRIPTION TEXT" not in html and org_a.name not in html and "ann@example.org" not in html
    assert 'name="status"' in html and 'name="note"' in html and 'name="evidence_url"' in html
    assert "<script" not in html.split("</main>")[0].split("<main")[1]  # the form needs no JavaScript
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_form_and_its_confirmation_name_the_plan(action, link, ann, django_assert_max_num_queries):
    """Action codes repeat from one plan to the next: the person must see which plan they report on."""
    next_plan = ActionFactory(code=action.code, title=action.title, objective__priority__plan__title="Next plan")
    ActionPartnerFactory(action=next_plan, organisation=ann.organisation)
    plan = action.objective.priority.plan
    for reported, other in ((action, next_plan), (next_plan, action)):
        anonymous = Client()
        with django_assert_max_num_queries(6):
            html = anonymous.get(path(report_link_for(action=reported, user=ann))).content.decode()
        summary = html.split('id="report-link-action"')[1].split("</dl>")[0]
        assert reported.objective.priority.plan.title in summary
        assert other.objective.priority.plan.title not in summary
    response = Client().post(path(report_link_for(action=action, user=ann)), REPORT)
    assert response.status_code == 200 and plan.title in response.content.decode().split("govuk-panel__body")[1]


def test_a_report_through_the_link_enters_the_review_queue_marked_and_works_once(
    action, link, ann, owner, django_capture_on_commit_callbacks
):
    anonymous = Client(enforce_csrf_checks=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = anonymous.post(path(link), REPORT)
    assert response.status_code == 200 and "Report sent" in response.content.decode()
    submission = Submission.objects.get()
    assert (submission.action, submission.submitted_by, submission.state) == (action, ann, "submitted")
    assert (submission.status, submission.note) == (Status.AT_RISK, "Partner withdrew")
    link.refresh_from_db()
    assert link.used_at is not None and link.submission == submission
    # The owner is told, and told where it came from.
    assert [m.to for m in mail.outbox] == [["owner@example.org"]]
    assert "Reported from an email link sent to ann@example.org." in mail.outbox[0].body
    # The review queue shows it with the mark; the action's history names who the link went to.
    staff = Client()
    staff.force_login(owner)
    queue = staff.get(reverse("overview:review-queue")).content.decode()
    assert f'id="submission-{submission.pk}"' in queue and "Reported from an email link" in queue
    assert (
        "reported from an email link sent to ann@example.org" in staff.get(action.get_absolute_url()).content.decode()
    )
    # Once accepted, the progress history says so too (the address for staff only).
    submission_accept(submission=submission, by=owner)
    history = staff.get(action.get_absolute_url()).content.decode().split('id="progress-history"')[1]
    assert (
        "accepted by" in history
        and "(reported from an email link sent to ann@example.org)" in history.split("</ol>")[0]
    )
    partner = Client()
    partner.force_login(ann)
    history = partner.get(action.get_absolute_url()).content.decode().split('id="progress-history"')[1]
    assert "(reported from an email link)" in history and "ann@example.org" not in history.split("</ol>")[0]
    # A second use, even of a form opened before the first was sent, is refused and changes nothing.
    again = anonymous.post(path(link), REPORT)
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert Submission.objects.count() == 1
    page = anonymous.get(path(link)).content.decode()
    assert "already been used" in page and reverse("login") in page and "Send me a new link" in page


def test_bad_input_is_explained_and_changes_nothing(action, link):
    response = Client().post(path(link), {"status": Status.OFF_TRACK, "note": "", "evidence_url": "javascript:x"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Explain why the action is at risk or off track." in html or "Enter a link" in html
    assert not Submission.objects.exists()
    link.refresh_from_db()
    assert link.used_at is None


def test_a_tampered_link_is_refused(link):
    token = link_token(link)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", token.replace(":", "x", 1)):
        response = Client().get(reverse("messaging:report-link", kwargs={"token": bad}))
        assert response.status_code == 404 and "not valid" in response.content.decode()
        assert "Send me a new link" not in response.content.decode()
    assert Client().post(reverse("messaging:report-link", kwargs={"token": "nonsense"}), REPORT).status_code == 404
    assert not Submission.objects.exists()


def test_a_link_is_for_its_own_action_only(action, link, ann, org_a):
    other = ActionPartnerFactory(organisation=org_a, action__code="5.32").action
    other_link = report_link_for(action=other, user=ann)
    # Another link's id with this link's nonce (or the reverse) is not a link, even correctly signed.
    spliced = signing.Signer(salt=SALT).sign_object({"l": other_link.pk, "n": link.nonce})
    assert Client().get(reverse("messaging:report-link", kwargs={"token": spliced})).status_code == 404
    # Naming another action in the form changes nothing: the link decides the action.
    Client().post(path(link), {**REPORT, "action": other.pk, "action_id": other.pk})
    assert list(Submission.objects.values_list("action__code", flat=True)) == ["5.31"]
    # Each link's page shows its own action and no other.
    # As a code, not as digits inside a timestamp ("08:18:15.320431" holds "5.32").
    assert not re.search(r"(?<![\d.])5\.32(?!\d)", Client().get(path(link)).content.decode())
    assert "Joint investigations" not in Client().get(path(other_link)).content.decode()


def test_an_expired_link_says_so_and_offers_a_new_one(action, ann):
    old = report_link_for(action=action, user=ann, created_at=timezone.now() - datetime.timedelta(days=15))
    old.expires_at = old.created_at + datetime.timedelta(days=14)
    old.save()
    response = Client().get(path(old))
    html = response.content.decode()
    assert response.status_code == 410 and "expired" in html and "Send me a new link" in html
    assert Client().post(path(old), REPORT).status_code == 410
    assert not Submission.objects.exists()


def test_the_next_reminder_s_link_replaces_the_last(action, link, ann):
    newer = report_link_for(action=action, user=ann)
    assert Client().get(path(link)).status_code == 410
    assert "replaced by a newer one" in Client().get(path(link)).content.decode()
    assert Client().get(path(newer)).status_code == 200


def test_a_deactivated_person_or_an_ended_partnership_voids_the_link(action, link, ann, org_a):
    ann.is_active = False
    ann.save()
    response = Client().get(path(link))
    assert response.status_code == 410 and "Send me a new link" not in response.content.decode()
    ann.is_active = True
    ann.save()
    assert Client().get(path(link)).status_code == 200
    ActionPartner.objects.filter(action=action, organisation=org_a).delete()
    assert Client().post(path(link), REPORT).status_code == 410
    assert not Submission.objects.exists()


def test_send_me_a_new_link_emails_the_same_address_and_is_rate_limited(
    action, link, ann, django_capture_on_commit_callbacks
):
    renew = reverse("messaging:report-link-renew", kwargs={"token": link_token(link)})
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(renew)
    assert response.status_code == 200 and "a***@example.org" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    new_url = re.search(r"https://tracker\.example\.org(/report/\S+/)", mail.outbox[0].body).group(1)
    fresh = ReportLink.objects.get(origin=ReportLink.Origin.RENEWAL)
    assert new_url == path(fresh)
    assert Client().get(new_url).status_code == 200
    assert Client().get(path(link)).status_code == 410  # the old one is replaced
    assert Notification.objects.filter(kind=Notification.Kind.LINK, action=action).count() == 1
    # Asking again at once is refused, and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = Client().post(renew)
    assert again.status_code == 429 and len(mail.outbox) == 1
    ann.is_active = False
    ann.save()
    ReportLink.objects.filter(origin=ReportLink.Origin.RENEWAL).delete()
    assert Client().post(renew).status_code == 429
    assert ReportLink.objects.filter(origin=ReportLink.Origin.RENEWAL).count() == 0


def test_reminder_digests_carry_a_link_per_action_for_partner_users_and_the_same_one_when_sent_again(
    action, ann, owner, org_a
):
    org_a.contact_email = "office@example.org"
    org_a.save()
    type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY + datetime.timedelta(days=2))
    reminders_run_daily(today=TODAY, send_now=True)
    digest = next(m for m in mail.outbox if m.to == ["ann@example.org"])
    link = ReportLink.objects.get()
    assert link.reminder == Reminder.objects.get(recipient_email="ann@example.org")
    url = "https://tracker.example.org" + path(link)
    assert url in digest.body and f'href="{url}"' in digest.alternatives[0][0]
    assert "Report progress on 5.31" in digest.alternatives[0][0]
    # The same row sent again (after a crash) makes the same link, not a second one.
    from messaging.reminders import build_digest
    from messaging.report_links import links_for_reminders

    rows = list(Reminder.objects.filter(recipient_email="ann@example.org").select_related("action", "recipient_user"))
    again = build_digest(recipient_email="ann@example.org", reminders=rows, report_urls=links_for_reminders(rows))
    assert url in again.body and ReportLink.objects.count() == 1


def test_dry_run_shows_the_links_it_would_include_without_a_valid_signature(action, ann):
    type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY + datetime.timedelta(days=2))
    out = io.StringIO()
    call_command("send_reminders", "--dry-run", "--date", TODAY.isoformat(), stdout=out)
    text = out.getvalue()
    assert "ann@example.org: https://tracker.example.org/report/DRY-RUN/" in text and "5.31" in text
    assert not ReportLink.objects.exists() and not Reminder.objects.exists()
    assert Client().get("/report/DRY-RUN/").status_code == 404


def test_two_reports_at_once_through_one_link_make_one(link):
    """The second of two posts that both passed the checks before either wrote is refused by the UPDATE."""
    from unittest import mock

    from messaging.report_links import LinkUnusable, report_link_submit

    ReportLink.objects.filter(pk=link.pk).update(used_at=timezone.now())
    with mock.patch("messaging.report_links.check_usable", lambda link, **kwargs: link):
        with pytest.raises(LinkUnusable):
            report_link_submit(token=link_token(link), **REPORT)
    assert not Submission.objects.exists()
