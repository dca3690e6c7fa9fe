"""Hostile input found by the security review: each once a 500, a forged log line or a lock-out of the wrong person."""

import datetime
import logging

import pytest
from django.test import override_settings
from django.urls import reverse

from priorities.models import Action
from priorities.scheduling import add_months

pytestmark = pytest.mark.django_db
LOGIN = reverse("login")
BEHIND_ONE_PROXY = {
    "AXES_IPWARE_PROXY_COUNT": 0,
    "AXES_IPWARE_PROXY_ORDER": "left-most",
    "AXES_IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
}
PROXY = "10.0.0.9"


def sign_in(client, username, password, **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def test_a_username_longer_than_axes_columns_is_a_failed_sign_in_not_a_500(client, secretariat):
    from axes.models import AccessAttempt

    response = sign_in(client, "u" * 300, "wrong password")
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "u" * 255


def test_a_newline_in_a_username_cannot_forge_a_log_line(client, secretariat, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    sign_in(client, "x\n2026-01-01 INFO tracker.security: sign-in: user=admin from=1.2.3.4", "wrong")
    lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "tracker.security").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("sign-in failed: user=x\\x0a2026-01-01 INFO")


def test_nul_characters_are_a_400_with_a_message_and_change_nothing(client, secretariat, plan5):
    client.force_login(secretariat)
    for url in (
        reverse("priorities:action-list") + "?q=%00",
        "/admin/priorities/action/?status=%00",
        "/admin/tracker/user/?q=a%00b",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "NUL character" in response.content.decode()
    action = Action.objects.first()
    response = client.post(reverse("priorities:action-edit", kwargs={"pk": action.pk}), {"title": "a\x00b"})
    assert response.status_code == 400
    action.refresh_from_db()
    assert "\x00" not in action.title


def test_a_return_reason_with_nul_is_refused_by_the_service():
    from django.core.exceptions import ValidationError

    from priorities.services import clean_return_reason

    with pytest.raises(ValidationError, match="NUL"):
        clean_return_reason("bad\x00reason", "the submission")


def test_a_60000_character_search_is_a_clear_400_and_a_201_character_one_a_form_error(client, secretariat, plan5):
    client.force_login(secretariat)
    response = client.get(reverse("priorities:action-list"), {"q": "a" * 60_000})
    assert response.status_code == 400
    assert "too long" in response.content.decode()
    response = client.get(reverse("priorities:action-list"), {"q": "a" * 201})
    assert response.status_code == 200
    assert "Search for at most 200 characters." in response.content.decode()


@pytest.mark.parametrize("role", ["secretariat", "partner_a", "commissioner"])
@pytest.mark.parametrize("per_page", ["-1", "0", "1000000000", "x"])
def test_the_register_ignores_per_page(client, plan5, role, per_page, request):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("priorities:action-list"), {"per_page": per_page})
    assert response.status_code == 200


def test_due_dates_past_the_calendar_end_do_not_crash():
    assert add_months(datetime.date(9999, 12, 31), 12) == datetime.date.max


def test_an_action_start_date_of_9999_with_a_frequency_is_refused_with_a_message(client, secretariat, plan5):
    client.force_login(secretariat)
    action = Action.objects.first()
    url = reverse("priorities:action-edit", kwargs={"pk": action.pk})
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        start_date="9999-12-31", target_date="", update_frequency="12", lead_partners=[], version=action.version
    )
    data.pop("supporting_partners", None)
    response = client.post(url, data)
    assert response.status_code in (200, 400)
    assert "Enter a date between 1 January 1900 and 31 December 2999." in response.content.decode()


def test_ids_beyond_64_bits_in_multi_selects_are_a_form_error(client, secretariat, plan5):
    from indicators.forms import LinkActionsForm
    from priorities.forms import ActionDetailsForm
    from tests.factories import SuccessIndicatorFactory

    huge = str(2**64)
    form = LinkActionsForm({"actions": [huge]}, indicator=SuccessIndicatorFactory(plan=plan5))
    assert not form.is_valid() and "actions" in form.errors
    form = ActionDetailsForm({"title": "T", "lead_partners": [huge, "-" + huge], "version": 1})
    assert not form.is_valid() and "lead_partners" in form.errors


def test_directly_on_the_internet_a_forwarded_header_is_ignored(client, secretariat):
    for number in range(5):
        sign_in(client, "sec", "wrong", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    # Every attempt counted for the connection's own address: locked, whatever the header said.
    assert sign_in(client, "sec", "correct horse battery", REMOTE_ADDR="198.51.100.1").status_code == 429


@override_settings(**BEHIND_ONE_PROXY)
def test_behind_the_proxy_wrong_passwords_from_someone_else_do_not_lock_the_user_out(client, secretariat, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    for _ in range(5):
        sign_in(client, "sec", "wrong", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert (
        sign_in(
            client, "sec", "correct horse battery", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66"
        ).status_code
        == 429
    )
    # The real user comes through the same proxy from their own address.
    response = sign_in(client, "sec", "correct horse battery", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 302
    messages = [r.getMessage() for r in caplog.records if r.name == "tracker.security"]
    assert "sign-in failed: user=sec from=203.0.113.66" in messages
    assert any(m.startswith("sign-in: user=sec from=203.0.113.7") for m in messages)


@override_settings(**BEHIND_ONE_PROXY)
def test_behind_the_proxy_a_client_cannot_pose_as_another_address(client, secretariat):
    from axes.models import AccessAttempt

    # The proxy appends the real address to whatever the client sent: two entries, not one.
    sign_in(client, "sec", "wrong", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7, 203.0.113.66")
    assert AccessAttempt.objects.get().ip_address != "203.0.113.7"
