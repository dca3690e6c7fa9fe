import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from priorities.models import ActionChange, ProgressUpdate, Status, Submission
from priorities.services import (
    AlreadyDecidedError,
    submission_accept,
    submission_create,
    submission_return,
)
from tests.factories import ActionPartnerFactory, PartnerFactory, SecretariatFactory


@pytest.fixture
def shared(partner_a, org_b):
    """An action both organisations partner, and one only organisation A partners."""
    action = ActionPartnerFactory(organisation=partner_a.organisation).action
    ActionPartnerFactory(action=action, organisation=org_b)
    return action


@pytest.fixture
def only_a(partner_a):
    return ActionPartnerFactory(organisation=partner_a.organisation).action


def test_a_submission_is_not_yet_official(only_a, partner_a):
    submission = submission_create(action=only_a, by=partner_a, status=Status.AT_RISK, note="Delayed")
    only_a.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED
    assert only_a.status == Status.NOT_STARTED and not ProgressUpdate.objects.exists()


def test_submissions_follow_the_update_rules(only_a, partner_a):
    with pytest.raises(ValidationError):
        submission_create(action=only_a, by=partner_a, status=Status.OFF_TRACK, note="")
    with pytest.raises(ValidationError):
        submission_create(action=only_a, by=partner_a, status=Status.ON_TRACK, note="x", evidence_url="javascript:x")
    assert not Submission.objects.exists()


def test_partner_cannot_submit_on_another_organisations_action(only_a, partner_b):
    with pytest.raises(PermissionDenied):
        submission_create(action=only_a, by=partner_b, status=Status.ON_TRACK, note="x")


def test_accepting_makes_it_official_reported_by_the_partner(only_a, partner_a, secretariat):
    submission = submission_create(action=only_a, by=partner_a, status=Status.AT_RISK, note="Delayed")
    update = submission_accept(submission=submission, by=secretariat)
    only_a.refresh_from_db()
    assert only_a.status == Status.AT_RISK
    assert (update.author, update.organisation, update.accepted_by) == (partner_a, partner_a.organisation, secretariat)
    submission.refresh_from_db()
    assert submission.state == Submission.State.ACCEPTED and submission.progress_update == update
    assert ActionChange.objects.get(action=only_a).changed_by == secretariat


def test_returning_needs_a_reason(only_a, partner_a, secretariat):
    submission = submission_create(action=only_a, by=partner_a, status=Status.ON_TRACK, note="Going well")
    with pytest.raises(ValidationError):
        submission_return(submission=submission, by=secretariat, reason="  ")
    submission_return(submission=submission, by=secretariat, reason="Which meeting? Add the minutes.")
    submission.refresh_from_db()
    assert submission.state == Submission.State.RETURNED
    assert submission.return_reason == "Which meeting? Add the minutes."


def test_deciding_twice_is_refused(only_a, partner_a, secretariat):
    colleague = SecretariatFactory(first_name="Cleo", last_name="Colleague")
    submission = submission_create(action=only_a, by=partner_a, status=Status.ON_TRACK, note="n")
    stale_copy = Submission.objects.get(pk=submission.pk)
    submission_accept(submission=submission, by=colleague)
    with pytest.raises(AlreadyDecidedError, match="already accepted by Cleo Colleague"):
        submission_accept(submission=stale_copy, by=secretariat)
    with pytest.raises(AlreadyDecidedError):
        submission_return(submission=stale_copy, by=secretariat, reason="No")
    assert ProgressUpdate.objects.count() == 1


# --- the browser side -----------------------------------------------------------------------


def test_partner_submits_from_the_action_page(client, only_a, partner_a):
    client.force_login(partner_a)
    page = client.get(only_a.get_absolute_url()).content.decode()
    assert "Report progress" in page and "Record an update" not in page
    response = client.post(
        reverse("priorities:submission-create", args=[only_a.pk]),
        {"status": "on_track", "note": "Training planned", "evidence_url": ""},
        follow=True,
    )
    assert "submitted" in response.content.decode()
    assert Submission.objects.get().submitted_by == partner_a


def test_bad_submission_shows_errors_and_saves_nothing(client, only_a, partner_a):
    client.force_login(partner_a)
    response = client.post(reverse("priorities:submission-create", args=[only_a.pk]), {"status": "at_risk", "note": ""})
    assert response.status_code == 400
    assert "Explain why the action is at risk or off track." in response.content.decode()
    assert not Submission.objects.exists()


def test_review_queue_accept_and_return(client, only_a, partner_a, secretariat):
    first = submission_create(action=only_a, by=partner_a, status=Status.ON_TRACK, note="First")
    second = submission_create(action=only_a, by=partner_a, status=Status.AT_RISK, note="Second")
    client.force_login(secretariat)
    queue = client.get(reverse("overview:review-queue"))
    assert queue.status_code == 200
    html = queue.content.decode()
    assert "Reviews (2)" in html and "First" in html and "Second" in html
    response = client.post(reverse("overview:submission-accept", args=[first.pk]), follow=True)
    assert "Accepted: " in response.content.decode()
    response = client.post(reverse("overview:submission-return", args=[second.pk]), {"reason": ""})
    assert response.status_code == 400 and "There is a problem" in response.content.decode()
    response = client.post(
        reverse("overview:submission-return", args=[second.pk]), {"reason": "Please add evidence"}, follow=True
    )
    assert "Returned to" in response.content.decode()
    # Deciding again is refused with a clear message and changes nothing.
    response = client.post(reverse("overview:submission-accept", args=[second.pk]), follow=True)
    assert "already returned by" in response.content.decode()
    only_a.refresh_from_db()
    assert only_a.status == Status.ON_TRACK
    # The partner sees the reason on their home and on the action page.
    client.force_login(partner_a)
    assert "Please add evidence" in client.get("/").content.decode()
    assert "Please add evidence" in client.get(only_a.get_absolute_url()).content.decode()
    history = client.get(only_a.get_absolute_url()).content.decode()
    expected = f"Reported by {partner_a} ({partner_a.organisation.name}), accepted by {secretariat}"
    # In the progress history and on the status row of the change history; never "(review)".
    assert history.count(expected) == 2
    assert "(review)" not in history


def test_commissioner_reads_the_queue_but_cannot_decide(client, only_a, partner_a, commissioner):
    submission = submission_create(action=only_a, by=partner_a, status=Status.ON_TRACK, note="n")
    client.force_login(commissioner)
    page = client.get(reverse("overview:review-queue"))
    assert page.status_code == 200 and "Accept" not in page.content.decode()
    assert client.post(reverse("overview:submission-accept", args=[submission.pk])).status_code == 403
    assert client.post(reverse("overview:submission-return", args=[submission.pk]), {"reason": "x"}).status_code == 403
    submission.refresh_from_db()
    assert submission.state == Submission.State.SUBMITTED


def test_co_partners_never_see_each_others_submissions(client, shared, partner_a, partner_b):
    submission_create(action=shared, by=partner_a, status=Status.ON_TRACK, note="A's private note")
    client.force_login(partner_b)
    page = client.get(shared.get_absolute_url()).content.decode()
    assert "A's private note" not in page
    assert partner_a.organisation.name in page  # but they see who the co-partners are
    assert "A's private note" not in client.get("/").content.decode()


def test_partner_home_lists_only_their_actions(client, partner_a, only_a, org_b):
    other = ActionPartnerFactory(organisation=org_b).action
    client.force_login(partner_a)
    html = client.get("/").content.decode()
    assert only_a.title in html and other.title not in html


def test_partner_home_runs_a_fixed_number_of_queries(client, partner_a, django_assert_max_num_queries):
    for _ in range(40):
        action = ActionPartnerFactory(organisation=partner_a.organisation).action
        submission_create(action=action, by=partner_a, status=Status.NOT_STARTED, note="")
    colleague = PartnerFactory(organisation=partner_a.organisation)
    client.force_login(colleague)
    # 14: the partner's plans (plan_choice.py); the navigation counts the returned reports waiting for
    # an answer (one query); the summary, the attention lists and the page of actions
    # (tests/overview/test_bounded_pages.py).
    with django_assert_max_num_queries(14):
        assert client.get("/").status_code == 200


def test_review_queue_runs_a_fixed_number_of_queries(client, partner_a, secretariat, django_assert_max_num_queries):
    for _ in range(40):
        action = ActionPartnerFactory(organisation=partner_a.organisation).action
        submission_create(action=action, by=partner_a, status=Status.NOT_STARTED, note="")
    client.force_login(secretariat)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("overview:review-queue")).status_code == 200
