from django import forms

from priorities.models import Action
from tracker.forms import IdsChoiceField, LongTextField, SpreadsheetFileField
from tracker.models import Organisation

from .models import Measure

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "govuk-input--width-10", **(attrs or {})}, format="%Y-%m-%d")


def _date(label, required=False, help_text="", missing=""):
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_INPUT_FORMATS,
        widget=DateInput(),
        help_text=help_text,
        error_messages={"required": missing, "invalid": f"Enter the {label.lower()} as a real date."},
    )


def _number(label, required=False, help_text="", missing=""):
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=18,
        decimal_places=2,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "govuk-input--width-10"}),
        error_messages={
            "required": missing,
            "invalid": "Enter a number, like 12 or 45.5.",
            "max_decimal_places": "Enter a number with no more than 2 decimal places.",
            "max_digits": "Enter a number with no more than 16 digits before the decimal point.",
            "max_whole_digits": "Enter a number with no more than 16 digits before the decimal point.",
        },
    )


class MeasureForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        help_text="What is counted, e.g. Joint Investigation Teams set up.",
        error_messages={"required": "Enter the measure's name."},
    )
    unit = forms.ChoiceField(
        choices=Measure.Unit.choices,
        widget=forms.RadioSelect,
        initial=Measure.Unit.COUNT,
        error_messages={"required": "Select the unit."},
    )
    direction = forms.ChoiceField(
        choices=Measure.Direction.choices,
        widget=forms.RadioSelect,
        initial=Measure.Direction.HIGHER,
        error_messages={"required": "Select whether higher or lower is better."},
    )
    baseline_value = _number("Baseline value", help_text="The value before the plan started. Leave blank for text.")
    baseline_date = _date("Baseline date", help_text="The date the baseline value was measured.")
    target_value = _number("Target value")
    target_date = _date("Target date")
    reporting_period = forms.TypedChoiceField(
        choices=Measure.ReportingPeriod.choices,
        coerce=int,
        initial=Measure.ReportingPeriod.ANNUAL,
        label="Each value covers",
        help_text="Values for a period of another length are refused, so a chart never mixes them.",
        error_messages={"required": "Select how long a period each value covers."},
    )
    reporting_organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.all(),
        required=False,
        empty_label="None: the secretariat reports it",
        help_text="The partner organisation that reports this measure.",
    )


class MeasurementForm(forms.Form):
    period_start = _date(
        "Period start",
        required=True,
        help_text="For a whole year, 1 January.",
        missing="Enter the date the period starts.",
    )
    period_end = _date(
        "Period end",
        required=True,
        help_text="For a whole year, 31 December.",
        missing="Enter the date the period ends.",
    )
    source = forms.CharField(max_length=300, required=False, help_text="Where the figure comes from.")
    note = LongTextField(max_length=5000, what="the note", required=False)
    is_public = forms.BooleanField(
        required=False,
        label="Show on the public pages",
        help_text="Its period and value appear on the public pages and in the open data once the plan is "
        "published; the note never does.",
    )

    def __init__(self, *args, measure, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure
        self.fields["period_end"].help_text = (
            f"Each value of this measure covers {measure.get_reporting_period_display().lower()}: "
            "for example 1 January to 31 December for a year, 1 April to 30 June for a quarter."
        )
        if measure.is_numeric:
            hint = {
                Measure.Unit.PERCENTAGE: "A percentage between 0 and 100, without the % sign.",
                Measure.Unit.CURRENCY: "In pounds, without the £ sign.",
            }.get(measure.unit, "A number.")
            self.fields["value"] = _number("Value", required=True, help_text=hint, missing="Enter the value.")
        else:
            self.fields["text_value"] = LongTextField(
                label="Value",
                max_length=5000,
                what="the value",
                error_messages={"required": "Enter the value."},
            )
        self.order_fields(["period_start", "period_end", "value", "text_value", "source", "note", "is_public"])


class MeasurementSubmissionForm(MeasurementForm):
    """A partner's reported value: the same fields, without the public choice (the secretariat's to make)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["is_public"]


class ActionChoiceField(IdsChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.title}"


class LinkActionsForm(forms.Form):
    actions = ActionChoiceField(
        queryset=Action.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The actions whose progress serves this indicator.",
    )

    def __init__(self, *args, indicator, **kwargs):
        super().__init__(*args, **kwargs)
        actions = self.fields["actions"]
        assert isinstance(actions, forms.ModelMultipleChoiceField)
        actions.queryset = Action.objects.filter(objective__priority__plan=indicator.plan).select_related(
            "objective__priority"
        )


class ImportForm(forms.Form):
    file = SpreadsheetFileField(
        label="Measurements file",
        help_text="CSV or Excel (.xlsx), up to 10 MB, with the columns: measure, period start, period end, "
        "value, source, note.",
    )


class IndicatorForm(forms.Form):
    """A success indicator's code and statement (services.indicator_create / indicator_update check the code)."""

    code = forms.CharField(
        max_length=20,
        help_text="Unique in the plan, e.g. SI1. Indicators are listed in the order they were added.",
        error_messages={"required": "Enter the indicator's code, e.g. SI1."},
    )
    statement = LongTextField(
        rows=4,
        max_length=5000,
        what="the statement",
        help_text="The answer to “how will we know that the response is improving?”, as published.",
        error_messages={"required": "Enter the indicator's statement."},
    )
