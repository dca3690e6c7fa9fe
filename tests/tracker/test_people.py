"""Partner users managed in the browser: invitations, resending, deactivation, organisation pages."""

import datetime
import re
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import ActionPartnerFactory, ObjectiveFactory, PartnerFactory
from tracker.emails import invitation_token
from tracker.models import Invitation, User
from tracker.services import partner_invite
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

    from tracker.emails import INVITATION_SALT

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
    from messaging.reminders import reminders_send_for_action

    action = ActionPartnerFactory(organisation=org_a).action
    reminders_send_for_action(action=action, by=secretariat, today=timezone.localdate())
    client.force_login(secretariat)
    html = client.get(org_a.get_absolute_url()).content.decode()
    section = html.split('id="organisation-reminders-heading"')[1]
    assert partner_a.email in section and action.code in section


# --- deactivating and reactivating, each confirmed (issue 22, item 7) -------------------------------------


def _history(person):
    from django.contrib.admin.models import LogEntry

    return list(LogEntry.objects.filter(object_id=str(person.pk)).values_list("change_message", "user__username"))


def test_deactivating_asks_first_naming_the_person_and_changes_nothing_until_confirmed(
    client, secretariat, partner_a, org_a
):
    client.force_login(secretariat)
    url = reverse("user-deactivate", args=[org_a.slug, partner_a.pk])
    assert url in client.get(org_a.get_absolute_url()).content.decode()  # a link to the question, not a button
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"Deactivate {partner_a}?" in html and partner_a.email in html and 'method="post"' in html
    assert User.objects.get(pk=partner_a.pk).is_active
    response = client.post(url, follow=True)
    assert "is deactivated and signed out everywhere" in response.content.decode()
    assert not User.objects.get(pk=partner_a.pk).is_active
    assert _history(partner_a) == [("Deactivated", "sec")]


def test_deactivating_says_who_will_get_the_reminders(client, secretariat, partner_a, org_a):
    client.force_login(secretariat)
    url = reverse("user-deactivate", args=[org_a.slug, partner_a.pk])
    assert "nobody will be reminded about its actions" in client.get(url).content.decode()
    org_a.contact_email = "office@a.example.org"
    org_a.save()
    assert "reminders go to its contact address, office@a.example.org" in client.get(url).content.decode()
    PartnerFactory(organisation=org_a)
    assert "go to its other 1 active person" in client.get(url).content.decode()


def test_deactivating_twice_says_so_and_changes_nothing(client, secretariat, partner_a, org_a):
    client.force_login(secretariat)
    url = reverse("user-deactivate", args=[org_a.slug, partner_a.pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert "is already deactivated" in response.content.decode()
    assert _history(partner_a) == [("Deactivated", "sec")]
    assert f"Reactivate {partner_a}" in client.get(url).content.decode()


def test_reactivating_is_confirmed_logged_and_emailed(
    client, secretariat, partner_a, org_a, caplog, django_capture_on_commit_callbacks, settings
):
    from tracker.celery import app

    client.force_login(secretariat)
    client.post(reverse("user-deactivate", args=[org_a.slug, partner_a.pk]))
    html = client.get(org_a.get_absolute_url()).content.decode()
    url = reverse("user-reactivate", args=[org_a.slug, partner_a.pk])
    assert url in html
    response = client.get(url)
    assert response.status_code == 200 and f"Reactivate {partner_a}?" in response.content.decode()
    assert not User.objects.get(pk=partner_a.pk).is_active
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, follow=True)
    finally:
        app.conf.task_always_eager = False
    assert "is active again at" in response.content.decode()
    person = User.objects.get(pk=partner_a.pk)
    assert person.is_active and person.organisation == org_a
    assert _history(partner_a) == [("Reactivated", "sec"), ("Deactivated", "sec")]
    assert "account reactivated: user=partner-a by=sec from=127.0.0.1" in caplog.messages
    assert "account deactivated: user=partner-a by=sec from=127.0.0.1" in caplog.messages
    (message,) = mail.outbox
    assert message.to == [partner_a.email] and message.subject == "Your Plan Tracker account is active again"
    assert "Sign in with your username, partner-a" in message.body and "/accounts/password-reset/" in message.body
    response = client.__class__().post(reverse("login"), {"username": "partner-a", "password": "correct horse battery"})
    assert response.status_code == 302  # signed in again, with the password they had


def test_reactivating_someone_who_never_set_a_password_sends_a_new_invitation(
    client, secretariat, invited, org_a, django_capture_on_commit_callbacks
):
    client.force_login(secretariat)
    client.post(reverse("user-deactivate", args=[org_a.slug, invited.user.pk]))
    assert not Invitation.objects.filter(user=invited.user).exists()
    url = reverse("user-reactivate", args=[org_a.slug, invited.user.pk])
    assert "we email them a new invitation link" in client.get(url).content.decode()
    with mock.patch("tracker.tasks.send_invitation.delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "emailed them a new invitation link" in response.content.decode()
    delay.assert_called_once_with(Invitation.objects.get(user=invited.user).pk)


def test_inviting_a_deactivated_address_offers_reactivation(client, secretariat, partner_a, org_a):
    client.force_login(secretariat)
    client.post(reverse("user-deactivate", args=[org_a.slug, partner_a.pk]))
    response = client.post(
        invite_url(org_a), {"first_name": "P", "last_name": "A", "email": partner_a.email.upper()}, follow=True
    )
    html = response.content.decode()
    assert "already has an account, which is deactivated" in html
    assert f"Reactivate {partner_a}?" in html
    assert response.redirect_chain[-1][0].startswith(reverse("user-reactivate", args=[org_a.slug, partner_a.pk]))
    assert User.objects.filter(email__iexact=partner_a.email).count() == 1


def test_inviting_a_deactivated_address_from_another_organisation_moves_the_person_there(
    client, secretariat, partner_a, org_a, org_b
):
    client.force_login(secretariat)
    client.post(reverse("user-deactivate", args=[org_a.slug, partner_a.pk]))
    response = client.post(
        invite_url(org_b), {"first_name": "P", "last_name": "A", "email": partner_a.email}, follow=True
    )
    html = response.content.decode()
    assert "Reactivating it here moves it to Organisation B" in html
    assert 'name="to" value="org-b"' in html
    client.post(reverse("user-reactivate", args=[org_a.slug, partner_a.pk]), {"to": org_b.slug})
    person = User.objects.get(pk=partner_a.pk)
    assert person.is_active and person.organisation == org_b
    assert _history(partner_a)[0][0] == "Reactivated, and moved from Organisation A to Organisation B"


def test_reactivating_someone_active_says_so_and_changes_nothing(client, secretariat, partner_a, org_a):
    client.force_login(secretariat)
    url = reverse("user-reactivate", args=[org_a.slug, partner_a.pk])
    assert f"{partner_a} is active" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert "is already active" in response.content.decode()
    assert _history(partner_a) == []


@pytest.mark.parametrize("name", ["user-deactivate", "user-reactivate"])
def test_only_the_secretariat_deactivates_or_reactivates(client, commissioner, partner_a, partner_b, org_a, name):
    url = reverse(name, args=[org_a.slug, partner_a.pk])
    for who in (commissioner, partner_b, partner_a):
        client.force_login(who)
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
    client.logout()
    assert client.get(url)["Location"].startswith(reverse("login"))
    assert User.objects.get(pk=partner_a.pk).is_active
