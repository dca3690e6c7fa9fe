import datetime
from typing import Any

from django import forms
from django.core.validators import URLValidator

from tracker.forms import IdsChoiceField, LongTextField, MergeOnConflictMixin
from tracker.models import Organisation, User

from .models import ActionPartner, Objective, Status, UpdateFrequency
from .services import NOTE_MAX_LENGTH, PUBLIC_SUMMARY_MAX_LENGTH

EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)


class HttpLinkField(forms.URLField):
    """A web link: http or https only (no javascript:, data: or ftp:)."""

    default_validators = [URLValidator(schemes=["http", "https"])]
    default_error_messages = {"invalid": "Enter a link that starts with https:// or http://"}


DESCRIPTION_MAX_LENGTH = 10000


class ObjectiveChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.title}"


def _date_field(label, help_text=""):
    # A date input takes ISO 8601 only: the locale's 01/12/2025 would show blank and save as no date.
    return forms.DateField(
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"}),
        label=label,
        help_text=help_text,
        error_messages={"invalid": f"Enter the {label.lower()} as a real date."},
    )


def _check_date_range(form, *names):
    for name in names:
        day = form.cleaned_data.get(name)
        if day and not EARLIEST_DATE <= day <= LATEST_DATE:
            form.add_error(name, f"Enter a date between {EARLIEST_DATE:%-d %B %Y} and {LATEST_DATE:%-d %B %Y}.")


class ProgressUpdateForm(MergeOnConflictMixin, forms.Form):
    """A progress update: the rules themselves live in services.validate_update."""

    # After a colleague's update, an untouched status becomes theirs; the note and link stay this person's.
    merge_fields = ("status",)

    status = forms.ChoiceField(choices=Status.choices, widget=forms.RadioSelect, label="Status")
    note = LongTextField(
        rows=5,
        required=False,
        max_length=NOTE_MAX_LENGTH,
        what="the note",
        label="Note",
        help_text="What has happened since the last update. Required when the status changes, "
        "or is at risk or off track.",
    )
    evidence_url = HttpLinkField(
        required=False,
        max_length=500,
        label="Evidence link (optional)",
        help_text="A link to a report, minutes or a published page, starting https:// or http://",
        assume_scheme="https",
    )
    is_public = forms.BooleanField(
        required=False,
        label="Show this update on the public pages",
        help_text="Its status, date and note appear on the public pages once the plan is published; "
        "the evidence link and who recorded it never do.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, action, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("status", action.status)
        kwargs["initial"].setdefault("version", action.version)
        super().__init__(*args, **kwargs)
        self.action = action


class ActionDetailsForm(MergeOnConflictMixin, forms.Form):
    """The secretariat's edit of an action: its place (objective, code), words, owner, dates, frequency and partners."""

    merge_fields = (
        "objective",
        "code",
        "title",
        "description",
        "owner",
        "start_date",
        "target_date",
        "update_frequency",
        "lead_partners",
        "supporting_partners",
    )

    objective = ObjectiveChoiceField(
        queryset=Objective.objects.none(),
        label="Objective",
        help_text="Move the action to another objective of its plan.",
        error_messages={"required": "Choose the objective.", "invalid_choice": "Choose an objective of this plan."},
    )
    code = forms.CharField(
        max_length=20,
        label="Code",
        help_text="As published, e.g. 5.11. Actions are listed in the order of their codes (5.9 before 5.10).",
        error_messages={"required": "Enter the code, e.g. 5.11."},
    )
    title = forms.CharField(max_length=200, label="Short title")
    description = LongTextField(
        rows=5,
        max_length=DESCRIPTION_MAX_LENGTH,
        what="the description",
        label="Published description",
        help_text="The action as the plan publishes it, word for word.",
        error_messages={"required": "Enter the action's description, as published."},
    )
    public_summary = LongTextField(
        required=False,
        max_length=PUBLIC_SUMMARY_MAX_LENGTH,
        what="the public summary",
        label="Public summary (optional)",
        help_text="A short summary of progress for the public pages, in plain words. "
        "No names of people, no internal detail.",
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(role=User.Role.SECRETARIAT, is_active=True),
        required=False,
        label="Owner",
        empty_label="Not assigned",
    )
    # A date input takes ISO 8601 only: the locale's 01/12/2025 would show blank and save as no date.
    start_date = forms.DateField(
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"}),
        label="Start date",
    )
    target_date = forms.DateField(
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"}),
        label="Target date",
    )
    update_frequency = forms.TypedChoiceField(
        choices=[("", "Not set"), *UpdateFrequency.choices],
        coerce=int,
        empty_value=None,
        required=False,
        label="Update frequency",
    )
    lead_partners = IdsChoiceField(
        queryset=Organisation.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Lead partners",
    )
    supporting_partners = IdsChoiceField(
        queryset=Organisation.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Supporting partners",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "objective" in self.fields:
            objectives = Objective.objects.select_related("priority")
            field = self.fields["objective"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = objectives.filter(priority__plan=plan) if plan else objectives

    @classmethod
    def initial_for(cls, action):
        partnerships = list(action.partnerships.all())
        return {
            "objective": action.objective_id,
            "code": action.code,
            "title": action.title,
            "description": action.description,
            "public_summary": action.public_summary,
            "owner": action.owner_id,
            "start_date": action.start_date,
            "target_date": action.target_date,
            "update_frequency": action.update_frequency,
            "lead_partners": [p.organisation_id for p in partnerships if p.role == ActionPartner.Role.LEAD],
            "supporting_partners": [p.organisation_id for p in partnerships if p.role == ActionPartner.Role.SUPPORTING],
            "version": action.version,
        }

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        start, target = data.get("start_date"), data.get("target_date")
        for name, day in (("start_date", start), ("target_date", target)):
            # Due dates are counted from these: 9999-12-31 plus a period was a 500 (year 10000).
            if day and not EARLIEST_DATE <= day <= LATEST_DATE:
                self.add_error(name, f"Enter a date between {EARLIEST_DATE:%-d %B %Y} and {LATEST_DATE:%-d %B %Y}.")
        if start and target and target < start:
            self.add_error("target_date", "The target date must be the same as or after the start date.")
        both = set(data.get("lead_partners") or []) & set(data.get("supporting_partners") or [])
        if both:
            names = ", ".join(sorted(o.name for o in both))
            self.add_error("supporting_partners", f"An organisation is either lead or supporting, not both: {names}.")
        return data

    def partners(self):
        data = self.cleaned_data
        return [(org, ActionPartner.Role.LEAD) for org in data["lead_partners"]] + [
            (org, ActionPartner.Role.SUPPORTING) for org in data["supporting_partners"]
        ]

    def clean_description(self):
        # Browsers send a textarea's line ends as CRLF: an untouched description must save unchanged.
        return self.cleaned_data["description"].replace("\r\n", "\n").strip()

    def details(self):
        return {
            field: self.cleaned_data[field]
            for field in (
                "objective",
                "code",
                "title",
                "description",
                "public_summary",
                "owner",
                "start_date",
                "target_date",
                "update_frequency",
            )
        }


class SubmissionForm(ProgressUpdateForm):
    """A partner's proposed update: the same fields and rules, without the version (it changes nothing yet)."""

    def __init__(self, *args, action, **kwargs):
        super().__init__(*args, action=action, **kwargs)
        del self.fields["version"], self.fields["opened"]
        # Whether progress is shown publicly is the secretariat's decision, made when accepting or later.
        del self.fields["is_public"]
        self.fields["status"].label = "Proposed status"


class ReturnForm(forms.Form):
    reason = LongTextField(
        max_length=NOTE_MAX_LENGTH,
        what="the reason",
        label="Why are you returning it?",
        help_text="The partner sees this and can answer with a new submission.",
        error_messages={"required": "Say why the submission is returned, so the partner can answer it."},
    )


# --- Building the plan (issue 16): the services check codes and numbers against the rest of the plan.


class PlanForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title", error_messages={"required": "Enter the plan's title."})
    organisation_name = forms.CharField(
        max_length=200,
        required=False,
        label="Publisher (optional)",
        help_text="Who publishes the plan, e.g. the commissioner's office.",
    )
    start_date = _date_field("Start date", help_text="First updates fall due one period after this date.")
    end_date = _date_field("End date")
    source_url = HttpLinkField(
        required=False,
        max_length=200,
        label="Source link (optional)",
        help_text="Where the plan is published, starting https:// or http://",
        assume_scheme="https",
    )

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        _check_date_range(self, "start_date", "end_date")
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date must be the same as or after the start date.")
        return data


class CarriedActionsField(IdsChoiceField):
    """The actions to carry forward, each named by its code and title (and whether it is completed)."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.title}" + (" (completed)" if obj.status == Status.COMPLETED else "")


class NextPlanForm(forms.Form):
    """Start the plan after this one: its title and dates, and which of this plan's actions carry forward."""

    title = forms.CharField(max_length=200, label="Title of the new plan")
    start_date = forms.DateField(
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"}),
        label="Start date",
        help_text="The first updates of the carried-forward actions fall due one period after this date.",
    )
    end_date = forms.DateField(
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"}),
        label="End date",
    )
    actions = CarriedActionsField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Actions to carry forward",
        help_text="Unfinished actions are chosen already. Each copy keeps its owner, partners and update "
        "frequency, and its page shows this plan's history after its own.",
    )

    def __init__(self, *args, actions, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["actions"]
        assert isinstance(field, CarriedActionsField)
        field.queryset = actions

    def clean(self):
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        for name in ("start_date", "end_date"):
            day = data.get(name)
            if day and not EARLIEST_DATE <= day <= LATEST_DATE:
                self.add_error(name, f"Enter a date between {EARLIEST_DATE:%-d %B %Y} and {LATEST_DATE:%-d %B %Y}.")
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date must be the same as or after the start date.")
        return data


class PriorityForm(forms.Form):
    number = forms.IntegerField(
        min_value=1,
        max_value=999,
        label="Number",
        help_text="As published, e.g. 5.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-3"}),
        error_messages={
            "required": "Enter the priority's number.",
            "invalid": "Enter the number as a whole number, like 5.",
            "min_value": "Enter a number from 1 to 999.",
            "max_value": "Enter a number from 1 to 999.",
        },
    )
    title = forms.CharField(max_length=300, label="Title", error_messages={"required": "Enter the priority's title."})
    aim = LongTextField(
        rows=4,
        max_length=DESCRIPTION_MAX_LENGTH,
        what="the aim",
        required=False,
        label="Aim (optional)",
        help_text="The priority's aim, as published.",
    )

    def clean_aim(self):
        return self.cleaned_data["aim"].replace("\r\n", "\n").strip()


class ObjectiveForm(forms.Form):
    code = forms.CharField(
        max_length=20,
        label="Code",
        help_text="As published, e.g. 5.1. Objectives are listed in the order of their codes (5.9 before 5.10).",
        error_messages={"required": "Enter the code, e.g. 5.1."},
    )
    title = forms.CharField(max_length=300, label="Title", error_messages={"required": "Enter the objective's title."})


class ActionCreateForm(ActionDetailsForm):
    """A new action: the edit form's fields, less what only an existing action has (its version, the summary)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["version"], self.fields["opened"], self.fields["objective"], self.fields["public_summary"]

    def details(self):
        return {
            field: self.cleaned_data[field]
            for field in ("code", "title", "description", "owner", "start_date", "target_date", "update_frequency")
        }
