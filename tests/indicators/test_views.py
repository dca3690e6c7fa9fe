import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indicators.models import IndicatorChange, Measure, Measurement
from tests.factories import ActionFactory, ObjectiveFactory, PriorityFactory, SuccessIndicatorFactory

from .conftest import make_indicators

pytestmark = pytest.mark.django_db


# --- who may open what ---------------------------------------------------------------------------


def _edit_urls(indicator):
    measure = indicator.measures.get()
    measurement = measure.measurements.first()
    action = indicator.actions.first()
    return [
        ("get", reverse("indicators:measure-create", kwargs={"pk": indicator.pk})),
        ("get", reverse("indicators:measure-update", kwargs={"pk": measure.pk})),
        ("get", reverse("indicators:measurement-create", kwargs={"pk": measure.pk})),
        ("get", reverse("indicators:measurement-update", kwargs={"pk": measurement.pk})),
        ("get", reverse("indicators:indicator-actions", kwargs={"pk": indicator.pk})),
        ("post", reverse("indicators:indicator-action-unlink", kwargs={"pk": indicator.pk, "action_pk": action.pk})),
        ("get", reverse("indicators:import-upload")),
    ]


def test_anonymous_users_are_sent_to_sign_in(client, indicator):
    urls = [
        ("get", reverse("indicators:indicator-list")),
        ("get", indicator.get_absolute_url()),
        ("get", reverse("indicators:export", kwargs={"fmt": "csv"})),
        ("get", reverse("indicators:indicator-export", kwargs={"pk": indicator.pk, "fmt": "xlsx"})),
        *_edit_urls(indicator),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("who", ["commissioner", "partner_a"])
def test_only_the_secretariat_may_edit(client, indicator, who, request):
    client.force_login(request.getfixturevalue(who))
    for method, url in _edit_urls(indicator):
        assert getattr(client, method)(url).status_code == 403, url
    assert indicator.actions.count() == 2


def test_the_secretariat_may_open_every_edit_page(client, indicator, secretariat):
    client.force_login(secretariat)
    for method, url in _edit_urls(indicator):
        response = getattr(client, method)(url)
        assert response.status_code == (302 if method == "post" else 200), url


@pytest.mark.parametrize("who", ["secretariat", "commissioner", "partner_a"])
def test_every_role_may_read_the_list_and_the_page(client, indicator, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("indicators:indicator-list")).status_code == 200
    assert client.get(indicator.get_absolute_url()).status_code == 200


def test_unknown_objects_are_404(client, secretariat):
    client.force_login(secretariat)
    assert client.get(reverse("indicators:indicator-detail", kwargs={"pk": 999})).status_code == 404
    assert client.get(reverse("indicators:measure-update", kwargs={"pk": 999})).status_code == 404
    assert client.get(reverse("indicators:measurement-create", kwargs={"pk": 999})).status_code == 404
    assert client.get(reverse("indicators:measurement-update", kwargs={"pk": 999})).status_code == 404
    assert (
        client.post(reverse("indicators:indicator-action-unlink", kwargs={"pk": 999, "action_pk": 1})).status_code
        == 404
    )


def test_unlinking_an_action_that_is_not_linked_is_404(client, indicator, secretariat):
    client.force_login(secretariat)
    other = ActionFactory()
    url = reverse("indicators:indicator-action-unlink", kwargs={"pk": indicator.pk, "action_pk": other.pk})
    assert client.post(url).status_code == 404


def test_unlink_is_post_only(client, indicator, secretariat):
    client.force_login(secretariat)
    action = indicator.actions.first()
    url = reverse("indicators:indicator-action-unlink", kwargs={"pk": indicator.pk, "action_pk": action.pk})
    assert client.get(url).status_code == 405


# --- the list ------------------------------------------------------------------------------------


def test_list_shows_latest_value_progress_and_status_mix(client, indicator, secretariat):
    client.force_login(secretariat)
    html = client.get(reverse("indicators:indicator-list")).content.decode()
    assert "More joint investigation teams." in html
    assert "Joint teams set up" in html
    assert ">6<" in html and "2024" in html  # the latest value and its period
    assert "<strong>50%</strong> of the way from the baseline (2) to the target (10)" in html
    assert "On track" in html and "At risk" in html


def test_list_shows_progress_of_a_lower_is_better_measure(client, secretariat):
    measure_indicator = SuccessIndicatorFactory()
    measure = Measure.objects.create(
        indicator=measure_indicator, name="Re-trafficked", direction="lower", baseline_value=40, target_value=10
    )
    Measurement.objects.create(
        measure=measure, period_start=datetime.date(2024, 1, 1), period_end=datetime.date(2024, 12, 31), value=25
    )
    client.force_login(secretariat)
    html = client.get(reverse("indicators:indicator-list")).content.decode()
    assert "<strong>50%</strong> of the way from the baseline (40) to the target (10), lower is better" in html


def test_partners_see_only_their_linked_actions_in_the_mix(client, indicator, partner_a):
    client.force_login(partner_a)
    response = client.get(reverse("indicators:indicator-list"))
    [shown] = response.context["indicators"]
    assert [a.code for a in shown.visible_actions] == ["9.1"]
    html = response.content.decode()
    assert "On track" in html and "At risk" not in html
    detail = client.get(indicator.get_absolute_url()).content.decode()
    assert "Action of A" in detail and "Action of B" not in detail


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_runs_a_fixed_number_of_queries(client, secretariat, django_assert_max_num_queries):
    client.force_login(secretariat)
    url = reverse("indicators:indicator-list")
    make_indicators(1, measures=1, values=1, actions=1)
    # +1 for the review count in the secretariat's navigation, +1 for the plans (plan_choice.py)
    with django_assert_max_num_queries(7):
        client.get(url)
    small = _queries(client, url)
    make_indicators(12, measures=3, values=6, actions=5)
    with django_assert_max_num_queries(7):
        client.get(url)
    assert _queries(client, url) == small


def test_detail_runs_a_fixed_number_of_queries(client, secretariat, django_assert_max_num_queries):
    client.force_login(secretariat)
    [small] = make_indicators(1, measures=1, values=1, actions=1)
    [large] = make_indicators(1, measures=6, values=20, actions=8)
    for measure in large.measures.all()[:2]:
        client.post(
            reverse("indicators:measure-update", kwargs={"pk": measure.pk}),
            {"name": measure.name + " (renamed)", "unit": "count", "direction": "higher"},
        )
    with django_assert_max_num_queries(8):
        client.get(small.get_absolute_url())
    with django_assert_max_num_queries(8):
        client.get(large.get_absolute_url())
    assert _queries(client, small.get_absolute_url()) == _queries(client, large.get_absolute_url())


# --- the indicator page -------------------------------------------------------------------------


def test_indicator_page_shows_chart_table_measurements_and_actions(client, indicator, secretariat):
    client.force_login(secretariat)
    html = client.get(indicator.get_absolute_url()).content.decode()
    assert '<svg class="app-chart"' in html and 'role="img"' in html
    assert "Baseline 2" in html and "Target 10" in html  # the lines are named in words
    assert "2 values recorded, from 4 for 2023 to 6 for 2024." in html
    assert "Measurements of Joint teams set up" in html
    assert "NCA" in html and "Two delayed" in html
    assert "Action of A" in html and "Action of B" in html
    assert "Record a measurement" in html and "Correct" in html


def test_indicator_page_has_no_edit_links_for_readers(client, indicator, commissioner):
    client.force_login(commissioner)
    html = client.get(indicator.get_absolute_url()).content.decode()
    assert "Record a measurement" not in html and "Unlink" not in html


# --- editing through the pages -------------------------------------------------------------------


def test_record_a_measurement(client, indicator, secretariat):
    client.force_login(secretariat)
    measure = indicator.measures.get()
    response = client.post(
        reverse("indicators:measurement-create", kwargs={"pk": measure.pk}),
        {"period_start": "2025-01-01", "period_end": "31/12/2025", "value": "9", "source": "NCA", "note": ""},
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#measure-{measure.pk}")
    assert measure.measurements.get(period_start=datetime.date(2025, 1, 1)).value == Decimal("9")
    html = client.get(response["Location"]).content.decode()
    assert "Value recorded for 2025." in html
    assert "Measurement: Joint teams set up, 2025" in html  # in the change log


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"period_start": "2024-01-01", "period_end": "2024-12-31", "value": "1"}, "already has a value"),
        ({"period_start": "2025-02-01", "period_end": "2025-01-01", "value": "1"}, "cannot end before it starts"),
        ({"period_start": "2025-01-01", "period_end": "2025-12-31", "value": "lots"}, "Enter a number"),
        (
            {"period_start": "not a date", "period_end": "2025-12-31", "value": "1"},
            "Enter the period start as a real date",
        ),
    ],
)
def test_bad_measurement_shows_an_error_summary_and_saves_nothing(client, indicator, secretariat, data, message):
    client.force_login(secretariat)
    measure = indicator.measures.get()
    response = client.post(reverse("indicators:measurement-create", kwargs={"pk": measure.pk}), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and message in html
    assert measure.measurements.count() == 2
    assert not IndicatorChange.objects.exists()


def test_percentage_outside_0_to_100_is_refused_on_the_page(client, secretariat):
    measure = Measure.objects.create(indicator=SuccessIndicatorFactory(), name="Share", unit="percentage")
    client.force_login(secretariat)
    response = client.post(
        reverse("indicators:measurement-create", kwargs={"pk": measure.pk}),
        {"period_start": "2025-01-01", "period_end": "2025-12-31", "value": "140"},
    )
    assert response.status_code == 400
    assert "A percentage must be between 0 and 100." in response.content.decode()
    assert not measure.measurements.exists()


def test_correct_a_measurement(client, indicator, secretariat):
    client.force_login(secretariat)
    measurement = indicator.measures.get().measurements.get(period_start=datetime.date(2024, 1, 1))
    url = reverse("indicators:measurement-update", kwargs={"pk": measurement.pk})
    assert 'value="6.00"' in client.get(url).content.decode() or 'value="6"' in client.get(url).content.decode()
    response = client.post(
        url, {"period_start": "2024-01-01", "period_end": "2024-12-31", "value": "7", "source": "", "note": "Revised"}
    )
    assert response.status_code == 302
    measurement.refresh_from_db()
    assert measurement.value == Decimal("7")
    change = IndicatorChange.objects.get(field="value")
    assert (change.old_value, change.new_value, change.changed_by) == ("6", "7", secretariat)
    html = client.get(indicator.get_absolute_url()).content.decode()
    assert "Revised" in html


def test_define_and_edit_a_measure(client, indicator, secretariat, org_a):
    client.force_login(secretariat)
    response = client.post(
        reverse("indicators:measure-create", kwargs={"pk": indicator.pk}),
        {
            "name": "Prosecutions",
            "unit": "count",
            "direction": "higher",
            "baseline_value": "3",
            "baseline_date": "2023-03-31",
            "target_value": "12",
            "target_date": "31/03/2027",
            "reporting_organisation": org_a.pk,
            "reporting_period": "12",
        },
    )
    assert response.status_code == 302
    measure = indicator.measures.get(name="Prosecutions")
    assert measure.target_date == datetime.date(2027, 3, 31) and measure.reporting_organisation == org_a
    response = client.post(
        reverse("indicators:measure-update", kwargs={"pk": measure.pk}),
        {
            "name": "Prosecutions",
            "unit": "count",
            "direction": "higher",
            "baseline_value": "3",
            "target_value": "15",
            "reporting_period": "12",
        },
    )
    assert response.status_code == 302
    change = IndicatorChange.objects.filter(measure=measure, field="target_value").latest("pk")
    assert (change.old_value, change.new_value) == ("12", "15")
    html = client.get(indicator.get_absolute_url()).content.decode()
    assert "Measure: Prosecutions" in html and "15" in html


def test_bad_measure_shows_an_error_summary(client, indicator, secretariat):
    client.force_login(secretariat)
    response = client.post(
        reverse("indicators:measure-create", kwargs={"pk": indicator.pk}),
        {"name": "Share", "unit": "percentage", "direction": "higher", "target_value": "150", "reporting_period": "12"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and "A percentage must be between 0 and 100." in html
    assert not indicator.measures.filter(name="Share").exists()


def test_link_and_unlink_actions_on_the_page(client, indicator, secretariat):
    client.force_login(secretariat)
    extra = ActionFactory(objective=ObjectiveFactory(priority=PriorityFactory(plan=indicator.plan)), code="9.3")
    keep = indicator.actions.get(code="9.1")
    response = client.post(
        reverse("indicators:indicator-actions", kwargs={"pk": indicator.pk}), {"actions": [keep.pk, extra.pk]}
    )
    assert response.status_code == 302
    assert set(indicator.actions.values_list("code", flat=True)) == {"9.1", "9.3"}
    client.post(reverse("indicators:indicator-action-unlink", kwargs={"pk": indicator.pk, "action_pk": extra.pk}))
    assert list(indicator.actions.values_list("code", flat=True)) == ["9.1"]
    changes = IndicatorChange.objects.filter(field="actions").order_by("pk")
    assert [(c.old_value, c.new_value) for c in changes] == [("9.1, 9.2", "9.1, 9.3"), ("9.1, 9.3", "9.1")]


def test_actions_of_another_plan_are_not_offered(client, indicator, secretariat):
    client.force_login(secretariat)
    foreign = ActionFactory()
    response = client.post(
        reverse("indicators:indicator-actions", kwargs={"pk": indicator.pk}), {"actions": [foreign.pk]}
    )
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert indicator.actions.count() == 2


def test_navigation_links_to_the_indicators(client, secretariat):
    client.force_login(secretariat)
    html = client.get(reverse("indicators:indicator-list")).content.decode()
    assert f'href="{reverse("indicators:indicator-list")}" aria-current="page"' in html


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "<strong>Worse than the baseline</strong> (2); the target is 10"),
        (14, "<strong>Target passed</strong>: 150% of the way"),
    ],
)
def test_progress_outside_the_span_is_said_in_words(client, indicator, secretariat, value, text):
    measure = indicator.measures.get()
    Measurement.objects.create(
        measure=measure, period_start=datetime.date(2030, 1, 1), period_end=datetime.date(2030, 12, 31), value=value
    )
    client.force_login(secretariat)
    assert text in client.get(reverse("indicators:indicator-list")).content.decode()


def test_missing_fields_say_what_to_enter(client, indicator, secretariat):
    client.force_login(secretariat)
    measure = indicator.measures.get()
    html = client.post(reverse("indicators:measurement-create", kwargs={"pk": measure.pk}), {}).content.decode()
    assert 'href="#id_period_start">Enter the date the period starts.' in html
    assert 'href="#id_period_end">Enter the date the period ends.' in html
    assert 'href="#id_value">Enter the value.' in html


def test_list_query_count_is_fixed_for_partners_too(client, partner_a, django_assert_max_num_queries):
    client.force_login(partner_a)
    url = reverse("indicators:indicator-list")
    make_indicators(1, measures=1, values=1, actions=1)
    small = _queries(client, url)
    make_indicators(8, measures=3, values=4, actions=4)
    # Two more than for staff: the footer names the partner's organisation, and the navigation counts
    # the returned reports waiting for an answer.
    with django_assert_max_num_queries(7):
        client.get(url)
    assert _queries(client, url) == small


def test_trend_chart_tag_renders_for_other_pages(indicator):
    """The dashboard can draw a measure's chart with one tag (or include the template with a `chart`)."""
    from django.template import Context, Template

    measure = indicator.measures.get()
    html = Template("{% load indicator_tags %}{% trend_chart measure measure.measurements.all 'JIT trend' %}").render(
        Context({"measure": measure})
    )
    assert f'<title id="chart-{measure.pk}-title">JIT trend</title>' in html
    assert html.count("<circle") == 2
    assert "Baseline 2" in html and "Target 10" in html
    assert "<caption" in html  # the table beside the chart


def test_the_secretariat_form_refuses_a_period_of_another_length(client, indicator, secretariat):
    from tests.factories import MeasureFactory

    measure = MeasureFactory(indicator=indicator, name="Referrals", reporting_period=3)
    client.force_login(secretariat)
    url = reverse("indicators:measurement-create", kwargs={"pk": measure.pk})
    assert "covers a quarter (3 months)" in client.get(url).content.decode()
    response = client.post(url, {"period_start": "2025-01-01", "period_end": "2025-12-31", "value": "4"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert (
        "Each value of Referrals covers a quarter (3 months): a period starting 1 January 2025 ends on 31 March 2025"
        in html
    )
    assert not measure.measurements.exists()


def test_partners_see_other_organisations_action_codes_only_as_a_count_in_the_history(
    client, indicator, partner_a, secretariat
):
    from indicators.services import indicator_set_actions
    from priorities.models import Action

    indicator_set_actions(indicator=indicator, actions=[Action.objects.get(code="9.1")], by=secretariat)
    client.force_login(partner_a)
    response = client.get(indicator.get_absolute_url())
    [change] = [c for c in response.context["changes"] if c.field == "actions"]
    assert (change.old_value, change.new_value) == ("9.1, 1 action of another organisation", "9.1")
    # As a code, not as digits inside a timestamp ("08:18:19.233043" holds "9.2").
    assert not re.search(r"(?<![\d.])9\.2(?!\d)", response.content.decode())
    client.force_login(secretariat)
    [change] = [c for c in client.get(indicator.get_absolute_url()).context["changes"] if c.field == "actions"]
    assert change.old_value == "9.1, 9.2"
