"""Partners report values for the measures their organisation reports; the secretariat reviews them."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from indicators.models import Measurement, MeasurementSubmission
from indicators.services import (
    measurement_submission_accept,
    measurement_submission_create,
    measurement_submission_return,
)
from priorities.services import AlreadyDecidedError
from tests.factories import MeasureFactory, MeasurementFactory, SecretariatFactory

YEAR = {"period_start": datetime.date(2025, 1, 1), "period_end": datetime.date(2025, 12, 31)}


@pytest.fixture
def measure(partner_a):
    return MeasureFactory(reporting_organisation=partner_a.organisation, unit="count")


def test_a_reported_value_waits_for_review(measure, partner_a):
    submission = measurement_submission_create(measure=measure, by=partner_a, value=7, source="Annual return", **YEAR)
    assert submission.state == MeasurementSubmission.State.SUBMITTED
    assert not Measurement.objects.exists()


def test_only_the_reporting_organisation_may_report(measure, partner_b, secretariat):
    for user in (partner_b, secretariat):
        with pytest.raises(PermissionDenied):
            measurement_submission_create(measure=measure, by=user, value=7, **YEAR)
    assert not MeasurementSubmission.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"value": None, **YEAR}, "value"),
        (
            {"value": 1, "period_start": datetime.date(2025, 5, 1), "period_end": datetime.date(2025, 1, 1)},
            "period_end",
        ),
    ],
)
def test_reported_values_follow_the_measurement_rules(measure, partner_a, data, field):
    with pytest.raises(ValidationError) as error:
        measurement_submission_create(measure=measure, by=partner_a, **data)
    assert field in error.value.message_dict
    assert not MeasurementSubmission.objects.exists()


def test_a_period_that_already_has_a_value_is_refused(measure, partner_a):
    MeasurementFactory(measure=measure, **YEAR)
    with pytest.raises(ValidationError):
        measurement_submission_create(measure=measure, by=partner_a, value=7, **YEAR)


def test_accepting_records_the_value_as_the_partners(measure, partner_a, secretariat):
    submission = measurement_submission_create(measure=measure, by=partner_a, value=7, **YEAR)
    measurement = measurement_submission_accept(submission=submission, by=secretariat)
    assert (measurement.value, measurement.recorded_by) == (7, partner_a)
    submission.refresh_from_db()
    assert submission.state == MeasurementSubmission.State.ACCEPTED
    assert (submission.decided_by, submission.measurement) == (secretariat, measurement)


def test_returning_and_deciding_twice(measure, partner_a, secretariat):
    colleague = SecretariatFactory(first_name="Cleo", last_name="Colleague")
    submission = measurement_submission_create(measure=measure, by=partner_a, value=7, **YEAR)
    stale = MeasurementSubmission.objects.get(pk=submission.pk)
    with pytest.raises(ValidationError):
        measurement_submission_return(submission=submission, by=secretariat, reason=" ")
    measurement_submission_return(submission=submission, by=colleague, reason="Which return is this from?")
    with pytest.raises(AlreadyDecidedError, match="already returned by Cleo Colleague"):
        measurement_submission_accept(submission=stale, by=secretariat)
    assert not Measurement.objects.exists()


def test_an_overlong_return_reason_is_refused_not_cut(client, measure, partner_a, secretariat):
    submission = measurement_submission_create(measure=measure, by=partner_a, value=7, **YEAR)
    with pytest.raises(ValidationError, match="5,000 characters or fewer"):
        measurement_submission_return(submission=submission, by=secretariat, reason="x" * 5001)
    client.force_login(secretariat)
    url = reverse("indicators:measurement-submission-return", args=[submission.pk])
    response = client.post(url, {"reason": "y" * 5001}, follow=True)
    assert "5,000 characters or fewer" in response.content.decode()
    submission.refresh_from_db()
    assert submission.state == MeasurementSubmission.State.SUBMITTED and submission.return_reason == ""


def test_the_partner_reports_in_the_browser_and_the_secretariat_accepts(client, measure, partner_a, secretariat):
    client.force_login(partner_a)
    url = reverse("indicators:measurement-submit", args=[measure.pk])
    assert client.get(url).status_code == 200
    assert "Report a value" in client.get(measure.indicator.get_absolute_url()).content.decode()
    bad = client.post(url, {"period_start": "2025-01-01", "period_end": "2024-01-01", "value": "x"})
    assert bad.status_code == 400 and "There is a problem" in bad.content.decode()
    response = client.post(url, {"period_start": "2025-01-01", "period_end": "2025-12-31", "value": "12"}, follow=True)
    assert "submitted" in response.content.decode()
    assert measure.name in client.get("/").content.decode()

    client.force_login(secretariat)
    queue = client.get(reverse("overview:review-queue")).content.decode()
    assert "Reviews (1)" in queue and measure.name in queue
    submission = MeasurementSubmission.objects.get()
    response = client.post(reverse("indicators:measurement-submission-accept", args=[submission.pk]), follow=True)
    assert "Accepted:" in response.content.decode()
    page = client.get(measure.indicator.get_absolute_url()).content.decode()
    expected = f"Reported by {partner_a} ({partner_a.organisation.name}), accepted by {secretariat}"
    # Once in the measurements table and once per change (value) in the history: never "(review)".
    assert page.count(expected) == 2
    assert "(review)" not in page


def test_other_partners_cannot_report_or_see(client, measure, partner_b, partner_a):
    measurement_submission_create(measure=measure, by=partner_a, value=7, note="private figure", **YEAR)
    client.force_login(partner_b)
    assert client.get(reverse("indicators:measurement-submit", args=[measure.pk])).status_code == 404
    assert "private figure" not in client.get("/").content.decode()


def test_a_reported_value_for_a_period_of_another_length_is_refused_in_the_form(client, measure, partner_a):
    client.force_login(partner_a)
    url = reverse("indicators:measurement-submit", args=[measure.pk])
    response = client.post(url, {"period_start": "2025-01-01", "period_end": "2025-06-30", "value": "12"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and "covers a year" in html
    assert not MeasurementSubmission.objects.exists()
