"""Personal access tokens: made on the account page, shown once, stored hashed, revoked at once."""

import datetime
import logging
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import AccessToken, token_hash
from api.services import MAX_LIVE_TOKENS, token_authenticate, token_create, token_revoke
from tests.factories import PartnerFactory

ACTIONS = "/api/v1/actions/"


def make(user, name="Power BI", scope="read", days=90, verified=True):
    return token_create(user=user, name=name, scope=scope, days=days, verified=verified, client="203.0.113.9")


def bearer(secret):
    return Client(headers={"Authorization": f"Bearer {secret}"})


def security_log(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "tracker.security"]


# --- the service ---------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_and_prefix_are_kept(world, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    token, secret = make(world.users["partner_a"])
    assert re.fullmatch(r"pt_[A-Za-z0-9_-]{43}", secret)
    token.refresh_from_db()
    assert token.hashed == token_hash(secret) and secret not in token.hashed
    assert token.prefix == secret[:11] and not AccessToken.objects.filter(prefix=secret).exists()
    assert token.expires_at.date() == (timezone.now() + datetime.timedelta(days=90)).date()
    assert "access token created: user=partner-a token=" + token.prefix in " ".join(security_log(caplog))
    assert secret not in " ".join(security_log(caplog))


def test_making_a_token_emails_its_owner(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        token, secret = make(world.users["partner_a"], name="Case system", scope="report")
    email = mail.outbox[-1]
    assert email.to == [world.users["partner_a"].email] and "access token" in email.subject
    assert "“Case system”" in email.body and token.prefix in email.body and secret not in email.body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"days": 366}, "days"),
        ({"days": 0}, "days"),
        ({"scope": "admin"}, "scope"),
    ],
)
def test_a_token_is_refused_with_a_message_and_nothing_saved(world, changes, field):
    with pytest.raises(ValidationError) as refused:
        make(world.users["partner_a"], **changes)
    assert field in refused.value.message_dict
    assert not AccessToken.objects.exists()


def test_the_commissioner_may_only_read(world):
    with pytest.raises(ValidationError, match="read and report"):
        make(world.users["commissioner"], scope="report")
    assert make(world.users["commissioner"], scope="read")[0].scope == "read"


def test_two_live_tokens_of_one_person_cannot_share_a_name(world):
    token, _ = make(world.users["partner_a"], name="Excel")
    with pytest.raises(ValidationError, match="already have a token with this name"):
        make(world.users["partner_a"], name="Excel")
    token_revoke(token=token, by=world.users["partner_a"], client="test")
    make(world.users["partner_a"], name="Excel")  # the name is free again once revoked
    make(world.users["partner_b"], name="Excel")  # and never anyone else's business


def test_a_person_holds_at_most_so_many_live_tokens(world):
    for number in range(MAX_LIVE_TOKENS):
        make(world.users["partner_a"], name=f"Tool {number}")
    with pytest.raises(ValidationError, match="revoke one"):
        make(world.users["partner_a"], name="One more")


def test_two_step_sign_in_is_needed_where_the_role_requires_it(world, settings):
    settings.TWO_STEP_ROLES = ["secretariat"]
    with pytest.raises(PermissionDenied, match="second step"):
        make(world.users["secretariat"], verified=False)
    assert make(world.users["secretariat"], verified=True)
    assert make(world.users["partner_a"], verified=False)  # not required of partners here


def test_a_token_works_until_it_is_revoked_expires_or_its_person_is_deactivated(world):
    user = world.users["partner_a"]
    token, secret = make(user)
    assert token_authenticate(secret) == token
    assert bearer(secret).get(ACTIONS).status_code == 200
    token_revoke(token=token, by=user, client="test")
    assert bearer(secret).get(ACTIONS).status_code == 401

    token, secret = make(user, name="Second")
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = bearer(secret).get(ACTIONS)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"

    token, secret = make(user, name="Third")
    assert bearer(secret).get(ACTIONS).status_code == 200
    user.is_active = False
    user.save()
    assert bearer(secret).get(ACTIONS).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(world, django_assert_num_queries):
    token, secret = make(world.users["partner_a"])
    assert token.last_used_at is None
    with django_assert_num_queries(2):  # the lookup and the update
        token_authenticate(secret)
    with django_assert_num_queries(1):  # the lookup only
        token_authenticate(secret)
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer pt_unknown", "Bearer a b", "Token pt_x", "Bearer " + "pt_" + "x" * 200],
)
def test_a_bad_authorization_header_is_a_401_with_the_scheme(world, header):
    response = Client(headers={"Authorization": header}).get(ACTIONS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="Plan Tracker API"'
    assert set(response.json()) == {"status", "code", "detail", "fields"}


def test_a_signed_in_browser_without_a_token_is_refused(world, client):
    client.force_login(world.users["secretariat"])
    response = client.get(ACTIONS)
    assert response.status_code == 401
    assert "sessionid" not in response.cookies and "Cookie" not in response.get("Vary", "")


def test_revoking_someone_elses_token_is_for_the_secretariat_and_tells_the_owner(
    world, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="tracker.security")
    token, secret = make(world.users["partner_a"], name="Case system")
    with pytest.raises(PermissionDenied):
        token_revoke(token=token, by=world.users["partner_b"], client="test")
    with pytest.raises(PermissionDenied):
        token_revoke(token=token, by=world.users["commissioner"], client="test")
    with django_capture_on_commit_callbacks(execute=True):
        token_revoke(token=token, by=world.users["secretariat"], client="203.0.113.9")
    assert bearer(secret).get(ACTIONS).status_code == 401
    assert f"access token revoked: user=partner-a token={token.prefix} by=sec from=203.0.113.9" in security_log(caplog)
    email = mail.outbox[-1]
    assert email.to == [world.users["partner_a"].email] and "revoked" in email.subject
    assert "Sam Secretary revoked the token “Case system”" in email.body
    assert token_revoke(token=token, by=world.users["secretariat"], client="test") is None  # once


# --- the pages -----------------------------------------------------------------------------------


def test_the_account_page_links_to_the_token_page(world, client):
    client.force_login(world.users["partner_a"])
    assert reverse("tokens:list") in client.get(reverse("account")).content.decode()


def test_making_a_token_in_the_browser_shows_it_once(world, client):
    client.force_login(world.users["partner_a"])
    page = client.get(reverse("tokens:list"))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    response = client.post(reverse("tokens:list"), {"name": "Excel board pack", "days": "30", "scope": "report"})
    assert response.status_code == 201
    secret = re.search(r'value="(pt_[^"]+)"', response.content.decode()).group(1)
    assert f"Bearer {secret}" in response.content.decode()
    token = AccessToken.objects.get()
    assert (token.name, token.scope, token.user) == ("Excel board pack", "report", world.users["partner_a"])
    assert (token.expires_at - token.created_at).days == 30
    again = client.get(reverse("tokens:list")).content.decode()
    assert secret not in again and token.prefix in again and "Excel board pack" in again
    assert bearer(secret).get(ACTIONS).status_code == 200


def test_a_refused_token_form_says_why_and_makes_nothing(world, client):
    client.force_login(world.users["commissioner"])
    response = client.post(reverse("tokens:list"), {"name": "", "days": "999", "scope": "report"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page and "Enter a name for the token." in page
    assert not AccessToken.objects.exists()


def test_the_token_page_needs_the_second_step_where_it_is_required(world, client, settings):
    settings.TWO_STEP_ROLES = ["partner"]
    client.force_login(world.users["partner_a"])
    # The two-step middleware sends an unverified person to set up their second step first.
    assert client.get(reverse("tokens:list"))["Location"] == reverse("two-step-setup")
    assert client.post(reverse("tokens:list"), {"name": "x", "days": "90", "scope": "read"}).status_code == 302
    assert not AccessToken.objects.exists()


def test_the_revoke_button_stops_the_token_at_once(world, client):
    token, secret = make(world.users["partner_a"])
    client.force_login(world.users["partner_a"])
    page = client.get(reverse("tokens:list")).content.decode()
    assert reverse("tokens:revoke", args=[token.pk]) in page and ">Revoke<" in page
    response = client.post(reverse("tokens:revoke", args=[token.pk]))
    assert response["Location"] == reverse("tokens:list")
    assert bearer(secret).get(ACTIONS).status_code == 401
    assert "Revoked" in client.get(reverse("tokens:list")).content.decode()


def test_nobody_but_the_owner_and_the_secretariat_reaches_a_token(world, client):
    token, secret = make(world.users["partner_a"])
    for role in ("partner_b", "commissioner"):
        client.force_login(world.users[role])
        assert client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 404
    client.force_login(PartnerFactory(organisation=world.orgs["a"]))  # a colleague too
    assert client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 404
    assert bearer(secret).get(ACTIONS).status_code == 200


def test_the_secretariat_sees_and_revokes_everyones_tokens(world, client, django_assert_max_num_queries):
    tokens = [make(world.users[role], name=f"{role} tool")[0] for role in ("partner_a", "partner_b", "commissioner")]
    for number in range(60):
        make(PartnerFactory(organisation=world.orgs["b"]), name=f"Tool {number}")
    client.force_login(world.users["secretariat"])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("tokens:everyone"))
    text = page.content.decode()
    assert page.status_code == 200 and text.count('id="token-') == 50 and "Next" in text
    last = client.get(reverse("tokens:everyone") + "?page=2").content.decode()
    assert all(f'id="token-{token.pk}"' in last for token in tokens)
    response = client.post(reverse("tokens:revoke", args=[tokens[0].pk]))
    assert response["Location"] == reverse("tokens:everyone")
    assert AccessToken.objects.get(pk=tokens[0].pk).revoked_by == world.users["secretariat"]
    for role in ("partner_a", "commissioner"):
        client.force_login(world.users[role])
        assert client.get(reverse("tokens:everyone")).status_code == 403
