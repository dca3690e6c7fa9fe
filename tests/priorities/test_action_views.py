"""The action page, recording an update, and editing an action."""

import datetime

import pytest
from django.urls import reverse

from priorities.models import Action, ActionChange, ActionPartner, ProgressUpdate, Status
from priorities.services import action_update_details
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory


def detail(action):
    return reverse("priorities:action-detail", args=[action.pk])


def record(action):
    return reverse("priorities:action-record-update", args=[action.pk])


def edit(action):
    return reverse("priorities:action-edit", args=[action.pk])


@pytest.fixture
def action(plan5):
    return Action.objects.get(code="5.22")


# --- who may see and do what ------------------------------------------------------------------


def test_anonymous_users_are_sent_to_sign_in(client, action):
    for url in (detail(action), edit(action)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(record(action), {"status": "on_track"}).status_code == 302
    assert not ProgressUpdate.objects.exists()


def test_commissioner_reads_but_cannot_change(client, commissioner, action):
    client.force_login(commissioner)
    response = client.get(detail(action))
    assert response.status_code == 200
    assert "Record an update" not in response.content.decode()
    assert client.get(edit(action)).status_code == 403
    assert client.post(record(action), {"status": "on_track", "note": "x", "version": 1}).status_code == 403
    assert not ProgressUpdate.objects.exists()


def test_partner_of_another_organisation_gets_404(client, partner_b, action):
    client.force_login(partner_b)
    assert client.get(detail(action)).status_code == 404


def test_partner_of_the_action_sees_it_but_cannot_edit(client, action):
    from tests.factories import PartnerFactory

    europol = ActionPartner.objects.get(action=action, organisation__slug="europol").organisation
    client.force_login(PartnerFactory(organisation=europol))
    assert client.get(detail(action)).status_code == 200
    assert client.get(edit(action)).status_code == 403


# --- the action page ----------------------------------------------------------------------------


def test_action_page_shows_what_the_secretariat_needs(client, secretariat, action):
    client.force_login(secretariat)
    html = client.get(detail(action)).content.decode()
    assert action.description in html
    assert "Enhanced European collaboration" in html  # breadcrumb: objective
    assert "Eurojust (supporting)" in html
    assert "An increased number of Joint Investigation Teams" in html  # linked success indicator
    assert "Record an update" in html


def test_action_page_runs_a_fixed_number_of_queries(client, secretariat, action, django_assert_max_num_queries):
    client.force_login(secretariat)
    for i in range(30):
        client.post(record(action), {"status": "on_track", "note": f"update {i}", "version": action.version + i})
    assert ProgressUpdate.objects.count() == 30
    # +1 for the actions that carry this one forward into a later plan (Action.successors)
    with django_assert_max_num_queries(13):
        assert client.get(detail(action)).status_code == 200


# --- recording an update ------------------------------------------------------------------------


def test_recording_an_update(client, secretariat, action):
    client.force_login(secretariat)
    response = client.post(
        record(action),
        {"status": "at_risk", "note": "Funding delayed", "evidence_url": "https://example.org/minutes", "version": 1},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail(action)
    html = response.content.decode()
    assert "Update recorded: 5.22 is now at risk." in html
    action.refresh_from_db()
    assert action.status == Status.AT_RISK
    history = html.split('id="progress-history"')[1]
    assert history.index("Funding delayed") < 2000  # at the head of the history
    register = client.get(reverse("priorities:action-list"), {"status": "at_risk"})
    assert [row.record.code for row in register.context["table"].paginated_rows] == ["5.22"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "at_risk", "note": ""}, "Explain why the action is at risk or off track."),
        ({"status": "on_track", "note": ""}, "Explain the change of status."),
        ({"status": "exploded", "note": "x"}, "Select a valid choice"),
        ({"status": "on_track", "note": "x", "evidence_url": "javascript:alert(1)"}, "Enter a link that starts with"),
        ({"status": "on_track", "note": "x" * 5001}, "The note must be 5,000 characters or fewer: this one has 5,001."),
    ],
)
def test_bad_updates_show_an_error_summary_and_save_nothing(client, secretariat, action, data, message):
    client.force_login(secretariat)
    response = client.post(record(action), {**data, "version": 1})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and message in html
    assert 'href="#id_' in html  # the summary links to the field
    action.refresh_from_db()
    assert action.status == Status.NOT_STARTED and action.version == 1
    assert not ProgressUpdate.objects.exists()


def test_a_note_with_script_is_shown_as_text(client, secretariat, action):
    client.force_login(secretariat)
    client.post(record(action), {"status": "on_track", "note": "<script>alert('x')</script>", "version": 1})
    html = client.get(detail(action)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_a_stale_update_is_refused_and_keeps_what_was_typed(client, secretariat, action):
    client.force_login(secretariat)
    client.post(record(action), {"status": "on_track", "note": "First in", "version": 1})
    response = client.post(record(action), {"status": "at_risk", "note": "My careful note", "version": 1})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this action" in html
    assert "My careful note" in html and "First in" in html
    assert ProgressUpdate.objects.count() == 1


def test_update_needs_a_csrf_token(secretariat, action):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(secretariat)
    response = client.post(record(action), {"status": "on_track", "note": "x", "version": 1})
    assert response.status_code == 403
    assert not ProgressUpdate.objects.exists()


# --- editing ------------------------------------------------------------------------------------


def edit_data(action, **overrides):
    data = {
        "objective": action.objective_id,
        "code": action.code,
        "title": action.title,
        "description": action.description,
        "owner": "",
        "start_date": "",
        "target_date": "",
        "update_frequency": "",
        "lead_partners": [],
        "supporting_partners": list(action.partnerships.values_list("organisation_id", flat=True)),
        "version": action.version,
    }
    data.update(overrides)
    return data


def test_edit_action(client, secretariat, action):
    client.force_login(secretariat)
    assert client.get(edit(action)).status_code == 200
    europol = OrganisationFactory._meta.model.objects.get(slug="europol")
    eurojust = OrganisationFactory._meta.model.objects.get(slug="eurojust")
    response = client.post(
        edit(action),
        edit_data(
            action,
            title="JITs",
            owner=secretariat.pk,
            start_date="2026-01-01",
            target_date="2027-12-31",
            update_frequency="3",
            lead_partners=[europol.pk],
            supporting_partners=[eurojust.pk],
        ),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail(action)
    action.refresh_from_db()
    assert action.title == "JITs" and action.owner == secretariat and action.update_frequency == 3
    assert action.next_update_due == datetime.date(2026, 4, 1)
    roles = dict(action.partnerships.values_list("organisation__slug", "role"))
    assert roles == {"europol": "lead", "eurojust": "supporting"}
    fields = set(ActionChange.objects.filter(action=action).values_list("field", flat=True))
    assert fields == {"title", "owner", "start_date", "target_date", "update_frequency", "partners"}
    html = response.content.decode()
    assert 'id="change-history"' in html and "Police forces across the UK (supporting)" in html


def test_edit_refuses_bad_input(client, secretariat, action):
    client.force_login(secretariat)
    europol = OrganisationFactory._meta.model.objects.get(slug="europol")
    response = client.post(
        edit(action),
        edit_data(
            action,
            title="",
            start_date="2026-05-01",
            target_date="2026-04-01",
            lead_partners=[europol.pk],
            supporting_partners=[europol.pk],
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert "The target date must be the same as or after the start date." in html
    assert "either lead or supporting" in html
    assert not ActionChange.objects.exists()


def test_concurrent_edit_is_refused_showing_their_changes(client, secretariat, action):
    from tests.factories import SecretariatFactory

    colleague = SecretariatFactory(first_name="Cleo", last_name="Colleague")
    client.force_login(secretariat)
    opened_version = action.version
    action_update_details(action=action, by=colleague, title="Their title")
    response = client.post(edit(action), edit_data(action, title="My title", version=opened_version))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else saved this action" in html
    assert "Their title" in html and "Cleo Colleague" in html
    assert 'value="My title"' in html
    action.refresh_from_db()
    assert action.title == "Their title"


# --- the admin records its changes too ----------------------------------------------------------


def test_admin_edits_are_recorded(client, action):
    from tests.factories import SecretariatFactory

    admin_user = SecretariatFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:priorities_action_change", args=[action.pk])
    assert client.get(url).status_code == 200
    partnerships = list(action.partnerships.all())
    data = {
        "title": "Admin title",
        "description": action.description,
        "owner": "",
        "start_date": "",
        "target_date": "",
        "update_frequency": "",
        "partnerships-TOTAL_FORMS": str(len(partnerships)),
        "partnerships-INITIAL_FORMS": str(len(partnerships)),
        "partnerships-MIN_NUM_FORMS": "0",
        "partnerships-MAX_NUM_FORMS": "1000",
        "updates-TOTAL_FORMS": "0",
        "updates-INITIAL_FORMS": "0",
        "updates-MIN_NUM_FORMS": "0",
        "updates-MAX_NUM_FORMS": "1000",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
        "changes-MIN_NUM_FORMS": "0",
        "changes-MAX_NUM_FORMS": "1000",
    }
    for i, p in enumerate(partnerships):
        data.update(
            {
                f"partnerships-{i}-id": p.pk,
                f"partnerships-{i}-action": action.pk,
                f"partnerships-{i}-organisation": p.organisation_id,
                f"partnerships-{i}-role": "lead" if i == 0 else "supporting",
            }
        )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    changes = {c.field: c for c in ActionChange.objects.filter(action=action)}
    assert changes["title"].new_value == "Admin title" and changes["title"].via == "admin"
    assert "(lead)" in changes["partners"].new_value
    action.refresh_from_db()
    assert action.version == 3


def test_partner_edits_cannot_reach_actions_through_other_routes(client, partner_a, db):
    other = ActionPartnerFactory(organisation=OrganisationFactory()).action
    client.force_login(partner_a)
    assert client.post(record(other), {"status": "on_track", "note": "x", "version": 1}).status_code == 403
    assert client.get(detail(ActionFactory())).status_code == 404


def test_a_demo_change_names_its_author_once(client, secretariat, action):
    secretariat.last_name = "Secretariat (demo)"
    secretariat.save()
    action_update_details(action=action, by=secretariat, title="Demo title", via="demo")
    action_update_details(action=action, by=secretariat, title="Admin title", via="admin")
    client.force_login(secretariat)
    html = client.get(detail(action)).content.decode()
    assert "(demo) (demo)" not in html and "(demo)</span>" not in html
    assert f'{secretariat} <span class="govuk-hint govuk-!-font-size-16">(in the admin)</span>' in html


# --- saving again after a conflict: a three-way merge -----------------------------------------


def opened_form(client, action):
    """The edit form's data exactly as the page hands it to the browser."""
    form = client.get(edit(action)).context["form"]
    data = {name: form[name].value() for name in form.fields}
    return {k: ("" if v is None else v) for k, v in data.items()}


def iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def test_saving_again_after_a_conflict_keeps_both_peoples_changes(client, secretariat, action):
    from tests.factories import SecretariatFactory

    colleague = SecretariatFactory(first_name="Cleo", last_name="Colleague")
    client.force_login(secretariat)
    mine = opened_form(client, action)
    action_update_details(action=action, by=colleague, title="Their title", update_frequency=3)
    mine["target_date"] = "2027-06-30"
    response = client.post(edit(action), {k: iso(v) for k, v in mine.items()})
    assert response.status_code == 409
    form = response.context["form"]
    # Their title and frequency (which I left alone), my target date; no choice to make.
    assert form["title"].value() == "Their title"
    assert str(form["update_frequency"].value()) == "3"
    assert form["target_date"].value() == "2027-06-30"
    assert not [name for name in form.fields if name.startswith("keep_")]
    response = client.post(edit(action), form.data)
    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.title, action.update_frequency, action.target_date) == (
        "Their title",
        3,
        datetime.date(2027, 6, 30),
    )


@pytest.mark.parametrize(("keep", "title"), [("yours", "My title"), ("theirs", "Their title")])
def test_a_field_both_changed_must_be_chosen_explicitly(client, secretariat, action, keep, title):
    from tests.factories import SecretariatFactory

    colleague = SecretariatFactory(first_name="Cleo", last_name="Colleague")
    client.force_login(secretariat)
    mine = opened_form(client, action)
    action_update_details(action=action, by=colleague, title="Their title")
    mine["title"] = "My title"
    response = client.post(edit(action), {k: iso(v) for k, v in mine.items()})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Yours: My title" in html and "Cleo Colleague&#x27;s: Their title" in html
    data = response.context["form"].data.copy()
    # Saving again without choosing is refused with a clear message and changes nothing.
    response = client.post(edit(action), data)
    assert response.status_code == 400
    assert "Choose which short title to keep" in response.content.decode()
    action.refresh_from_db()
    assert action.title == "Their title"
    data["keep_title"] = keep
    assert client.post(edit(action), data).status_code == 302
    action.refresh_from_db()
    assert action.title == title


def test_an_update_after_a_colleagues_update_takes_their_status_unless_changed(client, secretariat, action):
    from priorities.services import action_record_update
    from tests.factories import SecretariatFactory

    colleague = SecretariatFactory(first_name="Cleo", last_name="Colleague")
    client.force_login(secretariat)
    page = client.get(detail(action)).context["update_form"]
    mine = {name: page[name].value() or "" for name in page.fields}
    action_record_update(action=action, status=Status.AT_RISK, note="Funding late", by=colleague)
    mine["note"] = "Met the partners"
    response = client.post(record(action), mine)
    assert response.status_code == 409
    form = response.context["update_form"]
    assert form["status"].value() == Status.AT_RISK and form["note"].value() == "Met the partners"
    assert client.post(record(action), form.data).status_code == 302
    assert list(ProgressUpdate.objects.order_by("pk").values_list("status", "note")) == [
        (Status.AT_RISK, "Funding late"),
        (Status.AT_RISK, "Met the partners"),
    ]
