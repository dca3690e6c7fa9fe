"""GOV.UK markup for every form: date inputs carry ISO values, radios are radios, checkboxes are checkboxes."""

import datetime
import re

import pytest
from django import forms
from django.urls import reverse

from priorities.models import Action
from tests.factories import MeasureFactory, SuccessIndicatorFactory

DATE_INPUT = re.compile(r'<input type="date"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


def date_values(html):
    """The value of every <input type="date"> in the page (None for one without a value)."""
    found = []
    for tag in DATE_INPUT.findall(html):
        match = VALUE.search(tag)
        found.append(match.group(1) if match else None)
    return found


def assert_iso(values):
    assert values, "the page has no date input"
    for value in values:
        if value is not None:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), f"a browser drops the date input value {value!r}"


def test_any_date_input_renders_an_iso_value_whatever_its_widget_says():
    class AnyForm(forms.Form):
        plain = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
        formatted = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%d/%m/%Y"))
        text = forms.DateField(widget=forms.DateInput)

    html = str(AnyForm(initial={"plain": datetime.date(2025, 12, 1), "formatted": datetime.date(2026, 3, 9)}))
    assert date_values(html) == ["2025-12-01", "2026-03-09"]
    # A text input keeps the readable local form: it is typed, not picked.
    assert 'type="text"' in html


def test_the_action_edit_form_keeps_its_dates(client, secretariat, plan5):
    action = Action.objects.get(code="5.22")
    action.start_date, action.target_date = datetime.date(2025, 12, 1), datetime.date(2028, 12, 1)
    action.save()
    client.force_login(secretariat)
    html = client.get(reverse("priorities:action-edit", args=[action.pk])).content.decode()
    assert date_values(html) == ["2025-12-01", "2028-12-01"]
    # The width class the widget asks for survives the GOV.UK classes.
    assert 'class="govuk-input--width-10 govuk-input"' in html


@pytest.mark.parametrize(
    "url",
    ["overview:dashboard", "overview:progress-report"],
)
def test_date_filters_carry_iso_values(client, secretariat, plan5, url):
    client.force_login(secretariat)
    html = client.get(reverse(url), {"since": "2026-01-05", "as_of": "2026-01-05"}).content.decode()
    assert_iso(date_values(html))
    assert "2026-01-05" in date_values(html)


def test_measure_dates_carry_iso_values(client, secretariat):
    measure = MeasureFactory(
        indicator=SuccessIndicatorFactory(), baseline_date=datetime.date(2024, 4, 1), target_date=None
    )
    client.force_login(secretariat)
    html = client.get(reverse("indicators:measure-update", args=[measure.pk])).content.decode()
    assert date_values(html) == ["2024-04-01", None]


def test_status_options_are_govuk_radios_with_the_current_status_selected(client, secretariat, partner_a, plan5):
    from priorities.models import ActionPartner

    action = Action.objects.get(code="5.22")
    ActionPartner.objects.create(action=action, organisation=partner_a.organisation, role="lead")
    for user in (secretariat, partner_a):
        client.force_login(user)
        html = client.get(reverse("priorities:action-detail", args=[action.pk])).content.decode()
        group = html[html.index('id="id_status"') :]
        group = group[: group.index("</fieldset>")]
        assert 'class="govuk-radios govuk-radios--small"' in html
        assert 'data-module="govuk-radios"' in group
        assert "govuk-checkboxes" not in group
        assert group.count('class="govuk-radios__item"') == 5
        assert group.count('class="govuk-label govuk-radios__label"') == 5
        checked = re.findall(r'<input type="radio"[^>]*value="(\w+)"[^>]*checked', group)
        assert checked == [action.status], user.role


def test_checkbox_lists_are_govuk_checkboxes(client, secretariat, plan5):
    action = Action.objects.get(code="5.22")
    client.force_login(secretariat)
    html = client.get(reverse("priorities:action-edit", args=[action.pk])).content.decode()
    group = html[html.index('id="id_lead_partners"') :]
    group = group[: group.index("</fieldset>")]
    assert 'data-module="govuk-checkboxes"' in group and "govuk-radios" not in group
    boxes = group.count('type="checkbox"')
    assert boxes and group.count('class="govuk-checkboxes__item"') == boxes
    assert group.count('class="govuk-checkboxes__input"') == boxes


def test_a_hidden_field_with_an_error_carries_no_aria_attribute_or_error_class():
    # HTML forbids aria-* on <input type="hidden">; the error summary names the error instead.
    class WithVersion(forms.Form):
        version = forms.IntegerField(widget=forms.HiddenInput)
        note = forms.CharField()

    form = WithVersion(data={})
    html = str(form)
    hidden = re.search(r'<input type="hidden"[^>]*>', html).group(0)
    assert "aria-" not in hidden and "--error" not in hidden
    assert re.search(r'aria-describedby="[^"]*id_note-error"', html) and "govuk-input--error" in html


# --- long text: the server keeps the limit, the browser never cuts (issue 22, item 12) ----------------

TEXTAREA = re.compile(r"<textarea[^>]*>")


@pytest.mark.django_db
def test_a_note_over_the_limit_is_refused_with_a_message_and_nothing_is_saved(client, secretariat):
    from priorities.models import ProgressUpdate
    from tests.factories import ActionFactory

    action = ActionFactory()
    client.force_login(secretariat)
    html = client.get(action.get_absolute_url()).content.decode()
    [box] = [tag for tag in TEXTAREA.findall(html) if 'name="note"' in tag]
    assert "maxlength" not in box  # the browser would cut a pasted note at the limit without a word
    assert 'data-module="govuk-character-count" data-maxlength="5000"' in html
    assert "govuk-js-character-count" in box and "You can enter up to 5,000 characters" in html
    url = reverse("priorities:action-record-update", args=[action.pk])
    data = {"status": "on_track", "version": action.version}
    response = client.post(url, {**data, "note": "x" * 5001})
    assert response.status_code == 400
    message = "The note must be 5,000 characters or fewer: this one has 5,001. Shorten it and send it again."
    assert response.content.decode().count(message) == 2  # in the summary and under the box
    assert not ProgressUpdate.objects.exists()
    # Line breaks count once, as the character count shows them, though the browser sends two characters.
    note = ("y" * 99 + "\r\n") * 50
    assert len(note.replace("\r\n", "\n")) == 5000
    assert client.post(url, {**data, "note": note}).status_code == 302
    assert ProgressUpdate.objects.get().note == note.replace("\r\n", "\n").strip()


def test_every_text_box_with_a_limit_is_kept_by_the_server_not_cut_by_the_browser():
    """Each form's declared textarea with a limit is a LongTextField (which renders no maxlength)."""
    import importlib
    import inspect

    from tracker.forms import LongTextField

    checked = []
    for module in ("priorities.forms", "indicators.forms", "tracker.forms", "overview.forms"):
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        for _, form in inspect.getmembers(found, lambda o: isinstance(o, type) and issubclass(o, forms.BaseForm)):
            for name, field in getattr(form, "base_fields", {}).items():
                if isinstance(field.widget, forms.Textarea) and getattr(field, "max_length", None):
                    checked.append(f"{form.__name__}.{name}")
                    assert isinstance(field, LongTextField), f"{form.__name__}.{name} would render maxlength"
    assert len(checked) >= 6, checked


def test_every_aria_describedby_of_a_field_with_an_error_points_at_an_element():
    # Django names a field's error "<id>_error", our template "<id>-error": only ours may be referred to.
    class WithErrors(forms.Form):
        email = forms.EmailField(help_text="Where the link goes.")
        status = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)
        note = forms.CharField(widget=forms.Textarea)

    html = str(WithErrors(data={"email": "not an address"}))
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    references = [ref for refs in re.findall(r'aria-describedby="([^"]*)"', html) for ref in refs.split()]
    assert {"id_email-error", "id_email_helptext", "id_note-error"} <= set(references)
    assert set(references) <= ids, set(references) - ids
