"""Partner users managed in the browser: invitations, resending, deactivation, organisation pages."""

import datetime
import re
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import ActionPartnerFactory, ObjectiveFactory, PartnerFactory
from tracker.models import Invitation, User
from tracker.services import invitation_token, partner_invite
from tracker.tasks import send_invitation

STRONG = "a long and unusual passphrase 42"


def invite_url(org):
    return reverse("organisation-invite", args=[org.slug])


def link_in(message):
    return re.search(r"http://[^\s\"]+/accounts/invitation/[^\s\"/]+/", message.body).group(0)


@pytest.fixture
def invited(org_a, secretariat, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from tracker.celery import app

    app.conf.task_always_eager = True
    with django_capture_on_commit_callbacks(execute=True):
        invitation = partner_invite(
            email="Ana@Example.org", organisation=org_a, first_name="Ana", last_name="Agent", by=secretariat
        )
    app.conf.task_always_eager = False
    return invitation


def test_inviting_creates_a_partner_without_a_password_and_emails_a_link(invited, org_a):
    user = invited.user
    assert (user.email, user.username, user.role, user.organisation) == (
        "ana@example.org",
        "ana@example.org",
        User.Role.PARTNER,
        org_a,
    )
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    assert invitation_token(invited) in message.body
    assert message.alternatives and "Set your password" in message.alternatives[0][0]
    invited.refresh_from_db()
    assert invited.sent_at is not None


def test_the_link_does_not_depend_on_the_clock(invited, client):
    """The flaky cause: the token carried the current second, so it changed between sending and checking."""
    from django.core import signing

    with mock.patch.object(signing.time, "time", return_value=1_700_000_000):
        sent = invitation_token(invited)
    with mock.patch.object(signing.time, "time", return_value=1_700_000_007):
        assert invitation_token(invited) == sent
    assert client.get(reverse("accept-invitation", args=[sent])).status_code == 200


def test_a_link_sent_with_a_timestamped_token_still_works(invited, client):
    from django.core import signing

    from tracker.services import INVITATION_SALT

    old = signing.dumps({"i": invited.pk, "n": invited.nonce}, salt=INVITATION_SALT)
    assert client.get(reverse("accept-invitation", args=[old])).status_code == 200


def test_the_email_is_sent_only_after_the_transaction_commits(org_a, secretariat, django_capture_on_commit_callbacks):
    with mock.patch.object(send_invitation, "delay") as delay:
        with django_capture_on_commit_callbacks() as callbacks:
            invitation = partner_invite(
                email="b@example.org", organisation=org_a, first_name="B", last_name="B", by=secretariat
            )
            assert not delay.called
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(invitation.pk)


def test_the_link_works_once(client, invited):
    url = link_in(mail.outbox[0]).replace("http://127.0.0.1:8000", "")
    assert client.get(url).status_code == 200
    response = client.post(url, {"new_password1": STRONG, "new_password2": STRONG}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    user = User.objects.get(pk=invited.user.pk)
    assert user.check_password(STRONG)
    assert client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    assert client.get(url).status_code == 404
    assert "already been used" in client.get(url).content.decode()


def test_the_link_refuses_weak_passwords(client, invited):
    url = link_in(mail.outbox[0]).replace("http://127.0.0.1:8000", "")
    response = client.post(url, {"new_password1": "password", "new_password2": "password"})
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not User.objects.get(pk=invited.user.pk).has_usable_password()


def test_the_link_expires_after_7_days(client, invited):
    url = link_in(mail.outbox[0]).replace("http://127.0.0.1:8000", "")
    later = timezone.now() + datetime.timedelta(days=7, minutes=1)
    with (
        mock.patch("django.utils.timezone.now", return_value=later),
        mock.patch("time.time", return_value=later.timestamp()),
    ):
        response = client.get(url)
    assert response.status_code == 404
    assert "expired" in response.content.decode()


def test_a_tampered_link_is_refused(client, invited):
    url = link_in(mail.outbox[0]).replace("http://127.0.0.1:8000", "")
    assert client.get(url[:-3] + "xx/").status_code == 404


def test_resending_replaces_the_old_link(client, invited, secretariat, org_a, settings):
    old_url = link_in(mail.outbox[0]).replace("http://127.0.0.1:8000", "")
    client.force_login(secretariat)
    with mock.patch("tracker.tasks.send_invitation.delay") as delay:
        response = client.post(reverse("user-resend-invitation", args=[org_a.slug, invited.user.pk]), follow=True)
    assert "A new invitation was sent" in response.content.decode()
    assert Invitation.objects.filter(user=invited.user).count() == 1
    new = Invitation.objects.get(user=invited.user)
    assert new.pk != invited.pk
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(reverse("accept-invitation", args=[invitation_token(new)])).status_code == 200
    delay.assert_not_called()  # on_commit does not run inside the test transaction


def test_invite_form_errors(client, secretariat, org_a, partner_a):
    client.force_login(secretariat)
    response = client.post(invite_url(org_a), {"first_name": "", "last_name": "X", "email": "not an email"})
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    response = client.post(invite_url(org_a), {"first_name": "P", "last_name": "A", "email": partner_a.email})
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert User.objects.count() == 2


def test_invite_via_the_page(client, secretariat, org_a, django_capture_on_commit_callbacks):
    client.force_login(secretariat)
    with mock.patch("tracker.tasks.send_invitation.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            invite_url(org_a), {"first_name": "Dee", "last_name": "Dee", "email": "dee@example.org"}, follow=True
        )
    assert "Invitation sent to dee@example.org" in response.content.decode()
    delay.assert_called_once()
    assert "Invited" in response.content.decode()


def test_a_deactivated_users_open_session_is_refused(client, secretariat, partner_a, org_a):
    partner_client = client.__class__()
    partner_client.force_login(partner_a)
    assert partner_client.get("/").status_code == 200
    client.force_login(secretariat)
    response = client.post(reverse("user-deactivate", args=[org_a.slug, partner_a.pk]), follow=True)
    assert "is deactivated" in response.content.decode()
    response = partner_client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_people_actions_and_last_reported_on_the_organisation_page(client, secretariat, partner_a, org_a):
    from priorities.models import Status
    from priorities.services import submission_create

    action = ActionPartnerFactory(organisation=org_a).action
    submission_create(action=action, by=partner_a, status=Status.ON_TRACK, note="n")
    client.force_login(secretariat)
    html = client.get(org_a.get_absolute_url()).content.decode()
    assert partner_a.email in html and action.title in html
    assert timezone.localdate().strftime("%-d %b %Y") in html.split('id="organisation-actions"')[1]


def test_organisation_pages_run_a_fixed_number_of_queries(client, secretariat, org_a, django_assert_max_num_queries):
    objective = ObjectiveFactory()  # the page shows one plan's actions
    for _ in range(30):
        ActionPartnerFactory(organisation=org_a, action__objective=objective)
        PartnerFactory(organisation=org_a)
    client.force_login(secretariat)
    # 10: the actions are paged, which counts them (one query); the plans to choose from (plan_choice.py).
    with django_assert_max_num_queries(10):
        assert client.get(org_a.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(reverse("organisation-list")).status_code == 200


def test_an_organisations_actions_are_paged_50_at_a_time(client, secretariat, org_a, django_assert_max_num_queries):
    objective = ObjectiveFactory()  # the page shows one plan's actions
    for _ in range(120):
        ActionPartnerFactory(organisation=org_a, action__objective=objective)
    client.force_login(secretariat)
    with django_assert_max_num_queries(10):
        html = client.get(org_a.get_absolute_url()).content.decode()
    table = html.split('id="organisation-actions"')[1].split("</table>")[0]
    assert table.count('<tr class="govuk-table__row">') == 1 + 50  # the heading row and 50 actions
    assert "partners 120 actions, 1 to 50 below" in html and 'href="?page=3#organisation-actions"' in html
    assert f'href="/actions/export.csv?partner={org_a.pk}"' in html
    html = client.get(org_a.get_absolute_url(), {"page": 3}).content.decode()
    assert html.split('id="organisation-actions"')[1].split("</table>")[0].count('<tr class="govuk-table__row">') == 21


def test_only_the_secretariat_manages_people(client, commissioner, partner_a, org_a):
    client.force_login(commissioner)
    assert client.get(org_a.get_absolute_url()).status_code == 200
    assert client.post(reverse("user-deactivate", args=[org_a.slug, partner_a.pk])).status_code == 403
    assert client.post(invite_url(org_a), {"first_name": "a", "last_name": "b", "email": "c@d.org"}).status_code == 403
    client.force_login(partner_a)
    assert client.get(org_a.get_absolute_url()).status_code == 403
    assert User.objects.get(pk=partner_a.pk).is_active


def test_the_organisation_page_shows_its_reminders(client, secretariat, partner_a, org_a):
    from priorities.reminders import reminders_send_for_action

    action = ActionPartnerFactory(organisation=org_a).action
    reminders_send_for_action(action=action, by=secretariat, today=timezone.localdate())
    client.force_login(secretariat)
    html = client.get(org_a.get_absolute_url()).content.decode()
    section = html.split('id="organisation-reminders-heading"')[1]
    assert partner_a.email in section and action.code in section
