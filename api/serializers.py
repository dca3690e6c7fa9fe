"""How each item reads in the API: its `id`, its `url`, the ids of what it belongs to, ISO dates."""

from typing import Any, Protocol

from django.db.models import Model
from django.urls import reverse
from rest_framework import serializers
from rest_framework.relations import PKOnlyObject

from indicators.models import Measure, Measurement, MeasurementSubmission, SuccessIndicator
from messaging.models import Reminder
from priorities.models import (
    Action,
    ActionPartner,
    Objective,
    Plan,
    Priority,
    ProgressUpdate,
    Status,
    Submission,
)
from tracker.models import Organisation, User

STATUS_LABELS = dict(Status.choices)


class _WithVisibleActions(Protocol):
    """An indicator as IndicatorViewSet reads it, with what its Prefetch(to_attr="visible_actions") attaches.

    Not WithAnnotations[SuccessIndicator, ...]: drf-spectacular evaluates these hints at run time, where that fails.
    """

    visible_actions: list[Action]


def _name(user: User | None) -> str | None:
    return str(user) if user is not None else None


def _api_report_name(report: Submission | MeasurementSubmission) -> str | None:
    """The token a partner's report came through, or None ("api_report" is a reverse one-to-one)."""
    try:
        return report.api_report.token_name
    except report._meta.model.api_report.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]  # made by Django at run time
        return None


PLACEHOLDER_PK = 987654321


class Link(serializers.HyperlinkedIdentityField):
    """The item's own address, reversed once per request and view, then filled in per item.

    DRF reverses the URL for every item, a fifth of a 1,000-item page's time; the address differs
    only by the id.
    """

    def __init__(self, basename: str, **kwargs: Any) -> None:
        super().__init__(view_name=f"api:{basename}-detail", **kwargs)

    # A plain str, not DRF's Hyperlink (a str subclass that only carries a name for the browsable API).
    def to_representation(self, value: Model | PKOnlyObject) -> str:  # type: ignore[override]
        request = self.context["request"]
        templates = request.__dict__.setdefault("_api_link_templates", {})
        template = templates.get(self.view_name)
        if template is None:
            address = self.reverse(self.view_name, kwargs={"pk": PLACEHOLDER_PK}, request=request)
            template = templates[self.view_name] = address.replace(str(PLACEHOLDER_PK), "{pk}")
        return template.format(pk=value.pk)


class PlanSerializer(serializers.ModelSerializer):
    url = Link("plan")
    published = serializers.BooleanField(source="is_published", help_text="Its public pages are published.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "url",
            "title",
            "slug",
            "organisation_name",
            "start_date",
            "end_date",
            "source_url",
            "published",
            "created_at",
            "updated_at",
        ]


class PrioritySerializer(serializers.ModelSerializer):
    url = Link("priority")
    # Declared, not from the model: a small integer's range is the database's, and the schema must not vary.
    number = serializers.IntegerField()
    archived = serializers.BooleanField(source="is_archived")

    class Meta:
        model = Priority
        fields = ["id", "url", "plan", "number", "title", "aim", "archived"]


class ObjectiveSerializer(serializers.ModelSerializer):
    url = Link("objective")
    plan = serializers.IntegerField(source="priority.plan_id", help_text="The plan's id.")
    archived = serializers.BooleanField(source="is_archived")

    class Meta:
        model = Objective
        fields = ["id", "url", "plan", "priority", "code", "title", "archived"]


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, person: User) -> str:
        return str(person)


class PartnerSerializer(serializers.ModelSerializer):
    organisation = serializers.IntegerField(source="organisation_id", help_text="The organisation's id.")
    name = serializers.CharField(source="organisation.name")
    role = serializers.ChoiceField(choices=ActionPartner.Role.choices)

    class Meta:
        model = ActionPartner
        fields = ["organisation", "name", "role"]


class ActionSerializer(serializers.ModelSerializer):
    url = Link("action")
    page_url = serializers.SerializerMethodField(help_text="The action's page in the browser.")
    plan = serializers.IntegerField(source="objective.priority.plan_id", help_text="The plan's id.")
    priority = serializers.IntegerField(source="objective.priority_id", help_text="The priority's id.")
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.SerializerMethodField()
    owner = PersonSerializer(allow_null=True, help_text="The member of the secretariat accountable for it.")
    partners = PartnerSerializer(many=True, source="partnerships", help_text="Lead partners first, then by name.")
    update_frequency_months = serializers.IntegerField(source="update_frequency", allow_null=True)
    overdue = serializers.BooleanField(
        source="overdue_flag", help_text="The next update was due before today and the action is not completed."
    )
    awaiting_review = serializers.BooleanField(
        help_text="Progress reported on it waits for the secretariat's review (for a partner: their own)."
    )
    last_update_at = serializers.DateTimeField(source="last_update.created_at", allow_null=True)
    archived = serializers.BooleanField(source="is_archived")

    class Meta:
        model = Action
        fields = [
            "id",
            "url",
            "page_url",
            "plan",
            "priority",
            "objective",
            "code",
            "title",
            "description",
            "status",
            "status_label",
            "owner",
            "partners",
            "start_date",
            "target_date",
            "update_frequency_months",
            "last_update_at",
            "next_update_due",
            "overdue",
            "awaiting_review",
            "archived",
            "created_at",
            "updated_at",
        ]

    def get_page_url(self, action: Action) -> str:
        request = self.context["request"]
        templates = request.__dict__.setdefault("_api_link_templates", {})
        if "page" not in templates:
            address = request.build_absolute_uri(reverse("priorities:action-detail", kwargs={"pk": PLACEHOLDER_PK}))
            templates["page"] = address.replace(str(PLACEHOLDER_PK), "{pk}")
        return templates["page"].format(pk=action.pk)

    def get_status_label(self, action: Action) -> str:
        return STATUS_LABELS[action.status]


class StatusHistorySerializer(serializers.ModelSerializer):
    """One recorded progress update: the action's status from then on."""

    url = Link("status-history")
    status = serializers.ChoiceField(choices=Status.choices)
    previous_status = serializers.ChoiceField(
        choices=Status.choices, allow_blank=True, help_text="The status before it; empty for an action's first."
    )
    author = serializers.SerializerMethodField(help_text="Who reported it.")
    accepted_by = serializers.SerializerMethodField(help_text="For a partner's report: who accepted it.")
    public = serializers.BooleanField(source="is_public")

    class Meta:
        model = ProgressUpdate
        fields = [
            "id",
            "url",
            "action",
            "created_at",
            "status",
            "previous_status",
            "note",
            "evidence_url",
            "author",
            "organisation",
            "accepted_by",
            "public",
        ]

    def get_author(self, update: ProgressUpdate) -> str | None:
        return _name(update.author)

    def get_accepted_by(self, update: ProgressUpdate) -> str | None:
        return _name(update.accepted_by)


class IndicatorSerializer(serializers.ModelSerializer):
    url = Link("indicator")
    actions = serializers.SerializerMethodField(help_text="The ids of the linked actions you may see.")
    measures = serializers.SerializerMethodField(help_text="The ids of its measures.")
    archived = serializers.BooleanField(source="is_archived")

    class Meta:
        model = SuccessIndicator
        fields = ["id", "url", "plan", "code", "statement", "actions", "measures", "archived"]

    def get_actions(self, indicator: _WithVisibleActions) -> list[int]:
        return [action.pk for action in indicator.visible_actions]

    def get_measures(self, indicator: SuccessIndicator) -> list[int]:
        return [measure.pk for measure in indicator.measures.all()]


class MeasureSerializer(serializers.ModelSerializer):
    url = Link("measure")
    plan = serializers.IntegerField(source="indicator.plan_id", help_text="The plan's id.")
    unit = serializers.ChoiceField(choices=Measure.Unit.choices)
    direction = serializers.ChoiceField(choices=Measure.Direction.choices)
    reporting_period_months = serializers.IntegerField(source="reporting_period")
    latest_value = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True, read_only=True)
    latest_text_value = serializers.CharField(allow_null=True, read_only=True)
    latest_period_start = serializers.DateField(allow_null=True, read_only=True)
    latest_period_end = serializers.DateField(allow_null=True, read_only=True)

    class Meta:
        model = Measure
        fields = [
            "id",
            "url",
            "plan",
            "indicator",
            "name",
            "unit",
            "direction",
            "baseline_value",
            "baseline_date",
            "target_value",
            "target_date",
            "reporting_organisation",
            "reporting_period_months",
            "latest_value",
            "latest_text_value",
            "latest_period_start",
            "latest_period_end",
        ]


class MeasurementSerializer(serializers.ModelSerializer):
    url = Link("measurement")
    indicator = serializers.IntegerField(source="measure.indicator_id", help_text="The indicator's id.")
    public = serializers.BooleanField(source="is_public")

    class Meta:
        model = Measurement
        fields = [
            "id",
            "url",
            "measure",
            "indicator",
            "period_start",
            "period_end",
            "value",
            "text_value",
            "source",
            "note",
            "recorded_at",
            "public",
        ]


class OrganisationSerializer(serializers.ModelSerializer):
    url = Link("organisation")
    kind = serializers.ChoiceField(choices=Organisation.Kind.choices)

    class Meta:
        model = Organisation
        fields = ["id", "url", "name", "short_name", "slug", "kind", "country", "website"]


class _ReportStateMixin(serializers.Serializer):
    submitted_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    reported_through_api = serializers.SerializerMethodField(
        help_text="The name of the access token it came through, if it came through the API."
    )

    def get_submitted_by(self, submission: Submission | MeasurementSubmission) -> str:
        return str(submission.submitted_by)

    def get_decided_by(self, submission: Submission | MeasurementSubmission) -> str | None:
        return _name(submission.decided_by)

    def get_reported_through_api(self, submission: Submission | MeasurementSubmission) -> str | None:
        return _api_report_name(submission)


class SubmissionSerializer(_ReportStateMixin, serializers.ModelSerializer):
    """Progress a partner reported: it waits for the secretariat's review (`state`)."""

    url = Link("submission")
    status = serializers.ChoiceField(choices=Status.choices)
    state = serializers.ChoiceField(choices=Submission.State.choices)

    class Meta:
        model = Submission
        fields = [
            "id",
            "url",
            "action",
            "organisation",
            "submitted_by",
            "submitted_at",
            "status",
            "note",
            "evidence_url",
            "state",
            "decided_by",
            "decided_at",
            "return_reason",
            "progress_update",
            "reported_through_api",
        ]


class ValueSubmissionSerializer(_ReportStateMixin, serializers.ModelSerializer):
    """A value a partner reported for a measure: it waits for the secretariat's review (`state`)."""

    url = Link("value-submission")
    state = serializers.ChoiceField(choices=MeasurementSubmission.State.choices)

    class Meta:
        model = MeasurementSubmission
        fields = [
            "id",
            "url",
            "measure",
            "organisation",
            "submitted_by",
            "submitted_at",
            "period_start",
            "period_end",
            "value",
            "text_value",
            "source",
            "note",
            "state",
            "decided_by",
            "decided_at",
            "return_reason",
            "measurement",
            "reported_through_api",
        ]


class ReminderSerializer(serializers.ModelSerializer):
    url = Link("reminder")
    kind = serializers.ChoiceField(choices=Reminder.Kind.choices)
    state = serializers.ChoiceField(choices=Reminder.State.choices)
    sequence = serializers.IntegerField(help_text="Which weekly overdue reminder: 1 to 4 (0 for other kinds).")
    attempts = serializers.IntegerField(help_text="Times its sending was tried.")

    class Meta:
        model = Reminder
        fields = [
            "id",
            "url",
            "action",
            "organisation",
            "recipient_email",
            "kind",
            "cycle",
            "sequence",
            "state",
            "attempts",
            "created_at",
            "sent_at",
        ]


# --- writes -----------------------------------------------------------------------------------------


class ActionReportSerializer(serializers.Serializer):
    """Progress on an action, as the browser's form takes it."""

    status = serializers.ChoiceField(
        choices=Status.choices, help_text="The status as the register's filter spells it, e.g. `on_track`."
    )
    note = serializers.CharField(
        max_length=5000,
        allow_blank=True,
        required=False,
        default="",
        trim_whitespace=True,
        help_text="Required when the status changes, and when it is at risk or off track.",
    )
    evidence_url = serializers.URLField(
        max_length=500, allow_blank=True, required=False, default="", help_text="A link to the evidence, https://…"
    )


class MeasureReportSerializer(serializers.Serializer):
    """A measure's value for one period, as the browser's form takes it."""

    period_start = serializers.DateField()
    period_end = serializers.DateField()
    value = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True, default=None, help_text="For numbers."
    )
    text_value = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="For measures whose unit is text."
    )
    source = serializers.CharField(  # type: ignore[assignment]  # a field named "source", not Field.source
        required=False, allow_blank=True, default="", max_length=300
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
