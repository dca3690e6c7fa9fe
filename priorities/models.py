from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Self, cast

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.core.validators import URLValidator
from django.db import connection, models
from django.db.models import BooleanField, Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, Greatest
from django.urls import reverse
from django.utils import timezone

from tracker.history import ChangeRecord, ChangeSubject, changed_by_field
from tracker.sql import JoinedText

from .scheduling import add_months

if TYPE_CHECKING:
    # Only for annotations: tracker's models load in their own app; nothing here needs them at run time.
    from django.contrib.auth.models import AnonymousUser

    from tracker.models import Organisation, User


def code_sort_key(code: object) -> str:
    """Sort key for dotted codes in natural order: 5.2 < 5.10, 5.19 < 5.21."""
    parts = []
    for part in str(code).split("."):
        parts.append(part.zfill(6) if part.isdigit() else part)
    return ".".join(parts)


class Status(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    COMPLETED = "completed", "Completed"


# The GOV.UK tag colour for each status (templates/includes/status_tag.html).
STATUS_TAG_CLASSES = {
    Status.NOT_STARTED: "govuk-tag--grey",
    Status.ON_TRACK: "govuk-tag--green",
    Status.AT_RISK: "govuk-tag--yellow",
    Status.OFF_TRACK: "govuk-tag--red",
    Status.COMPLETED: "govuk-tag--blue",
}


class UpdateFrequency(models.IntegerChoices):
    """How often progress is reported, stored as a number of months."""

    MONTHLY = 1, "Monthly"
    QUARTERLY = 3, "Quarterly"
    SIX_MONTHLY = 6, "Every six months"
    ANNUALLY = 12, "Annually"


class PlanQuerySet(models.QuerySet["Plan"]):
    def published(self) -> Self:
        """Plans the secretariat has published: the only ones the public pages and open data show."""
        return self.filter(published_at__isnull=False)

    def publication_scope(self, plan: Plan) -> dict[str, int]:
        """What publishing `plan` makes public, counted by the public pages' own rules (public_pages/data.py).

        {"priorities", "objectives", "actions", "organisations", "summaries", "updates", "indicators",
        "measures", "measurements"}: the live items, the partner organisations named on live actions,
        the public summaries written, the progress updates and indicator values marked public. A few
        queries whatever the plan's size. Indicators are reached through their relation's name: this
        app does not import the indicators app, which sits above it.
        """
        actions = Action.objects.live().filter(objective__priority__plan=plan)
        counts = actions.aggregate(
            actions=models.Count("pk"),
            summaries=models.Count("pk", filter=~Q(public_summary="")),
        )
        counts["priorities"] = Priority.objects.live().filter(plan=plan).count()
        counts["objectives"] = Objective.objects.live().filter(priority__plan=plan).count()
        counts["organisations"] = (
            ActionPartner.objects.filter(action__in=actions).values("organisation").distinct().count()
        )
        counts["updates"] = ProgressUpdate.objects.filter(action__in=actions, is_public=True).count()
        indicators = plan.indicators.live()
        counts["indicators"] = indicators.count()
        # Aliases unlike the relations' names: an aggregate called "measures" would shadow the relation.
        measures = indicators.aggregate(
            n_measures=models.Count("measures", distinct=True),
            n_values=models.Count(
                "measures__measurements", filter=Q(measures__measurements__is_public=True), distinct=True
            ),
        )
        counts["measures"], counts["measurements"] = measures["n_measures"], measures["n_values"]
        return counts


class Plan(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    organisation_name = models.CharField(
        max_length=200, blank=True, help_text="Who publishes the plan, e.g. the commissioner's office."
    )
    start_date = models.DateField(null=True, blank=True, help_text="First updates fall due one period after this date.")
    end_date = models.DateField(null=True, blank=True)
    source_url = models.URLField(blank=True)
    # Set and cleared only by services.plan_publish / plan_unpublish, which log each decision.
    published_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the secretariat published it; empty when not public."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class PlanChoice(models.Model):
    """The plan a person last chose in the plan switcher (priorities/plan_choice.py): one row per person."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_choice")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+")
    chosen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user}: {self.plan}"


class PlanPublication(models.Model):
    """One decision to publish or unpublish a plan's public pages: who, when. Written only by the services."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="publications")
    published = models.BooleanField(help_text="True: published; False: taken down.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="plan_publications"
    )
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.plan} {'published' if self.published else 'unpublished'} {self.decided_at:%d %b %Y %H:%M}"


def live_q(prefix: str = "") -> Q:
    """Q: the item at `prefix` ("", "objective__" ...) is not archived."""
    return Q(**{f"{prefix}archived_at__isnull": True})


def live_on_q(day: datetime.date, prefix: str = "") -> Q:
    """Q: the item at `prefix` was live at the end of `day` (not archived, or archived on a later day)."""
    next_day = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
    return live_q(prefix) | Q(**{f"{prefix}archived_at__gte": next_day})


class Archivable(models.Model):
    """An item of the plan that the secretariat can archive: it leaves the live pages, its history stays.

    Set and cleared only by the archive services (priorities.services, indicators.services), which
    record each decision in the item's history.
    """

    archived_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class PriorityQuerySet(models.QuerySet["Priority"]):
    def live(self) -> Self:
        """Priorities not archived."""
        return self.filter(live_q())

    def live_on(self, day: datetime.date) -> Self:
        """Priorities live at the end of `day`."""
        return self.filter(live_on_q(day))


class Priority(Archivable):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="priorities")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=300)
    aim = models.TextField(blank=True, help_text="The priority's aim, as published.")

    objects = PriorityQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "number"]
        verbose_name_plural = "priorities"
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="unique_priority_number_per_plan"),
        ]

    def __str__(self) -> str:
        return f"Priority {self.number}: {self.title}"


OBJECTIVE_LEVELS = ("", "priority__")


class ObjectiveQuerySet(models.QuerySet["Objective"]):
    def live(self) -> Self:
        """Objectives not archived, nor under an archived priority."""
        return self.filter(*(live_q(level) for level in OBJECTIVE_LEVELS))

    def live_on(self, day: datetime.date) -> Self:
        """Objectives live at the end of `day` (as were their priorities)."""
        return self.filter(*(live_on_q(day, level) for level in OBJECTIVE_LEVELS))


class Objective(Archivable):
    priority = models.ForeignKey(Priority, on_delete=models.CASCADE, related_name="objectives")
    code = models.CharField(max_length=20, help_text="As published, e.g. 5.1.")
    title = models.CharField(max_length=300)
    sort_key = models.CharField(max_length=80, editable=False, db_index=True)

    objects = ObjectiveQuerySet.as_manager()

    # Not fields: what the plan page's view attaches for its template.
    first_actions: list[Action]  # the first actions shown under the objective
    action_total: int  # how many it has that the reader may see

    class Meta:
        ordering = ["priority", "sort_key"]
        constraints = [
            models.UniqueConstraint(fields=["priority", "code"], name="unique_objective_code_per_priority"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.sort_key = code_sort_key(self.code)
        super().save(*args, **kwargs)


ACTION_LEVELS = ("", "objective__", "objective__priority__")
DUE_SOON_DAYS = 30  # "due soon" on the partner's home: the next update falls due within this many days


def _pending_submissions(user: User) -> SubmissionQuerySet:
    """Submissions awaiting review that count for `user`: for a partner, their organisation's; for staff, all."""
    pending = Submission.objects.pending()
    if user.role == user.Role.PARTNER:
        pending = pending.filter(Q(organisation_id=user.organisation_id))
    return pending


class ObjectiveStatusCountQuerySet(models.QuerySet["ObjectiveStatusCount"]):
    def by_objective(self) -> dict[int, dict[str, int]]:
        """{objective_id: {status: n}} from the stored counts (statuses with no action left out), one query."""
        counts: dict[int, dict[str, int]] = {}
        # Archived objectives (or their priorities) leave the dashboard; archived actions are not counted.
        live = self.filter(
            count__gt=0, objective__archived_at__isnull=True, objective__priority__archived_at__isnull=True
        )
        for objective_id, status, n in live.values_list("objective_id", "status", "count"):
            counts.setdefault(objective_id, {})[status] = n
        return counts

    def computed(self) -> dict[tuple[int, str], int]:
        """{(objective_id, status): n} counted from the actions themselves, for checking the stored counts."""
        rows = (
            Action.objects.filter(archived_at__isnull=True)
            .order_by()
            .values("objective_id", "status")
            .annotate(n=Count("pk"))
        )
        return {(row["objective_id"], row["status"]): row["n"] for row in rows}

    def stored(self) -> dict[tuple[int, str], int]:
        """{(objective_id, status): n} as stored, statuses with no action left out."""
        return {(o, s): n for o, s, n in self.filter(count__gt=0).values_list("objective_id", "status", "count")}

    def differences(self) -> list[tuple[int, str, int, int]]:
        """[(objective_id, status, stored, computed)] wherever the stored count is not the actions' own."""
        stored, computed = self.stored(), self.computed()
        return sorted(
            (o, s, stored.get((o, s), 0), computed.get((o, s), 0))
            for o, s in set(stored) | set(computed)
            if stored.get((o, s), 0) != computed.get((o, s), 0)
        )


class ObjectiveStatusCount(models.Model):
    """How many actions of an objective have a status: kept by the services that create actions or change
    their status (ObjectiveStatusCountQuerySet.recount), so the dashboard reads 5 rows per objective
    instead of counting every action."""

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="status_counts")
    status = models.CharField(max_length=20, choices=Status.choices)
    count = models.PositiveIntegerField(default=0)

    objects = ObjectiveStatusCountQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["objective", "status"], name="unique_status_count_per_objective"),
        ]

    def __str__(self) -> str:
        return f"{self.objective.code} {self.get_status_display()}: {self.count}"


class ActionQuerySet(models.QuerySet["Action"]):
    def live(self) -> Self:
        """Actions not archived, nor under an archived objective or priority (computed, never copied down)."""
        return self.filter(*(live_q(level) for level in ACTION_LEVELS))

    def live_on(self, day: datetime.date) -> Self:
        """Actions live at the end of `day`: the progress report as of that day shows them."""
        return self.filter(*(live_on_q(day, level) for level in ACTION_LEVELS))

    def archived(self) -> Self:
        """Actions archived themselves or hidden by an archived objective or priority."""
        return self.exclude(pk__in=self.live().values("pk"))

    def visible_to(self, user: User | AnonymousUser) -> Self:
        """The actions a user may see: all for secretariat and commissioner, their organisation's for partners."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role in (user.Role.SECRETARIAT, user.Role.COMMISSIONER):
            return self
        if user.role == user.Role.PARTNER and user.organisation_id:
            return self.filter(
                Exists(ActionPartner.objects.filter(action=OuterRef("pk"), organisation_id=user.organisation_id))
            )
        return self.none()

    def partner_reporting(self, organisation_id: int | None, state: str, today: datetime.date | None = None) -> Self:
        """Actions the organisation partners, by its reporting: "current", "late", "never" (ActionPartner rule)."""
        partnerships = ActionPartner.objects.filter(Q(organisation_id=organisation_id), action=OuterRef("pk"))
        if state in REPORTING_STATES:
            partnerships = partnerships.with_reporting(today).filter(Q(reporting=state))
        return self.filter(Exists(partnerships))

    def with_awaiting_review(self, user: User) -> Self:
        """Annotate `awaiting_review`: progress submitted on the action waits for the secretariat's decision.

        For a partner only their own organisation's submissions count (what they see as "Submitted,
        awaiting review" instead of "Overdue"); for staff any partner's.
        """
        return self.annotate(awaiting_review=Exists(_pending_submissions(user).filter(action=OuterRef("pk"))))

    def awaiting_review(self, user: User, awaiting: bool = True) -> Self:
        """Actions with progress awaiting review as with_awaiting_review counts it (awaiting=False: without).

        One uncorrelated subquery (the few pending submissions, hashed once), not an Exists per action.
        """
        q = Q(pk__in=_pending_submissions(user).values("action_id"))
        return self.filter(q) if awaiting else self.exclude(q)

    def overdue(self, today: datetime.date | None = None) -> Self:
        """Actions whose next update is due before today and that are not completed."""
        today = today or timezone.localdate()
        return self.exclude(status=Status.COMPLETED).filter(next_update_due__lt=today)

    def partner_summary(self, user: User, today: datetime.date | None = None) -> dict[str, int]:
        """One aggregate query: {"total", each status, "overdue", "due_soon", "awaiting_review"} over these actions.

        As on the partner's home, progress awaiting review (with_awaiting_review's rule) is neither
        overdue nor due soon; due soon is within DUE_SOON_DAYS from today, not completed.
        """
        today = today or timezone.localdate()
        # The rule as an uncorrelated subquery (hashed once), not the annotation: an aggregate cannot see it.
        awaiting = Q(pk__in=_pending_submissions(user).values("action_id"))
        open_ = ~awaiting & ~Q(status=Status.COMPLETED)
        return self.order_by().aggregate(
            total=models.Count("pk"),
            **{status: models.Count("pk", filter=Q(status=status)) for status in Status.values},
            overdue=models.Count("pk", filter=open_ & Q(next_update_due__lt=today)),
            due_soon=models.Count(
                "pk",
                filter=open_
                & Q(next_update_due__gte=today, next_update_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS)),
            ),
            awaiting_review=models.Count("pk", filter=awaiting),
        )

    def for_register(self, today: datetime.date | None = None) -> Self:
        """Everything the register shows and sorts on, in a fixed number of queries."""
        today = today or timezone.localdate()
        severity = [Status.OFF_TRACK, Status.AT_RISK, Status.ON_TRACK, Status.NOT_STARTED, Status.COMPLETED]
        first_partner = ActionPartner.objects.filter(action=OuterRef("pk")).order_by("organisation__name")
        return (
            self.annotate(
                status_rank=Case(
                    *(When(status=s, then=Value(i)) for i, s in enumerate(severity)), output_field=IntegerField()
                ),
                first_partner_name=Subquery(first_partner.values("organisation__name")[:1]),
                overdue_flag=Case(
                    When(Q(next_update_due__lt=today) & ~Q(status=Status.COMPLETED), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                ),
            )
            .select_related("objective__priority__plan", "owner", "last_update__author")
            .prefetch_related(
                models.Prefetch(
                    "partnerships",
                    queryset=ActionPartner.objects.select_related("organisation").order_by(
                        "role", "organisation__name"
                    ),
                )
            )
        )

    def export_rows(self) -> models.QuerySet[Action, tuple[Any, ...]]:
        """The register's download as plain rows (`values_list`, no model objects), keeping the filters and ordering.

        Called on a queryset annotated by with_awaiting_review(user): the download's "Overdue" column says
        what the register's does.
        """
        return (
            self.select_related(None)
            .prefetch_related(None)
            .values_list(
                "pk",
                "code",
                "title",
                "objective__code",
                "objective__title",
                "status",
                "owner__first_name",
                "owner__last_name",
                "owner__username",
                "last_update__created_at",
                "last_update__author__first_name",
                "last_update__author__last_name",
                "last_update__author__username",
                "next_update_due",
                "awaiting_review",
            )
        )

    def partner_lists(self) -> dict[int, str]:
        """{action pk: "Europol (lead); Eurojust"} for these actions, lead first then by name, joined in SQL.

        One query whatever the number of actions. PostgreSQL groups every partnership at once
        (string_agg ordered within each action: a correlated subquery per action was 8x slower there);
        SQLite before 3.44 cannot order inside group_concat, so it joins an ordered subquery per action,
        which its index lookups make cheap.
        """
        label = Concat(
            "organisation__name",
            Case(When(role=ActionPartner.Role.LEAD, then=Value(" (lead)")), default=Value("")),
            output_field=models.TextField(),
        )
        rows: models.QuerySet[Any, tuple[int, str]]
        if connection.vendor == "postgresql":
            rows = (
                ActionPartner.objects.filter(action__in=self.order_by().values("pk"))
                .order_by()
                .values("action_id")
                .annotate(names=StringAgg(label, delimiter="; ", order_by=("role", "organisation__name")))
                .values_list("action_id", "names")
            )
        else:
            partners = (
                ActionPartner.objects.filter(action=OuterRef("pk"))
                .order_by("role", "organisation__name")
                .annotate(label=label)
                .values("label")
            )
            rows = (
                self.select_related(None)
                .prefetch_related(None)
                .order_by()
                .annotate(names=JoinedText(partners, column="label"))
                .values_list("pk", "names")
            )
        return {pk: names for pk, names in rows.iterator(chunk_size=2000) if names}


class Action(Archivable):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="actions")
    code = models.CharField(max_length=20, help_text="As published, e.g. 5.11.")
    title = models.CharField("short title", max_length=200)
    description = models.TextField(help_text="The action as published, word for word.")
    public_summary = models.TextField(
        blank=True,
        max_length=1000,
        help_text="A short summary of progress for the public pages, written by the secretariat.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_actions",
        limit_choices_to={"role": "secretariat", "is_active": True},
        help_text="The member of the secretariat accountable for the action.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    start_date = models.DateField(null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    update_frequency = models.PositiveSmallIntegerField(choices=UpdateFrequency.choices, null=True, blank=True)
    # Kept by the services (priorities.services), so the register can filter and sort on it in SQL.
    next_update_due = models.DateField(null=True, blank=True, editable=False, db_index=True)
    last_update = models.ForeignKey(
        "ProgressUpdate", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Incremented on every save.")
    sort_key = models.CharField(max_length=80, editable=False, db_index=True)
    # Set only by services.plan_start_next: the action in the previous plan this one carries forward.
    predecessor = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="successors",
        help_text="The action in the previous plan that this one carries forward.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionQuerySet.as_manager()

    # Not fields: an earlier plan's action's history, attached by the action page's view (predecessor_history.html).
    history_updates: list[ProgressUpdate]
    history_changes: list[ActionChange]

    class Meta:
        ordering = ["sort_key"]
        constraints = [
            models.UniqueConstraint(fields=["objective", "code"], name="unique_action_code_per_objective"),
            models.CheckConstraint(
                name="action_target_after_start",
                condition=Q(start_date__isnull=True)
                | Q(target_date__isnull=True)
                | Q(target_date__gte=models.F("start_date")),
                violation_error_message="The target date cannot be before the start date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.sort_key = code_sort_key(self.code)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("priorities:action-detail", kwargs={"pk": self.pk})

    @property
    def archived_with(self) -> Archivable | None:
        """The archived objective or priority that hides this action, if any (its own archive comes first)."""
        if self.archived_at:
            return self
        if self.objective.archived_at:
            return self.objective
        if self.objective.priority.archived_at:
            return self.objective.priority
        return None

    @property
    def is_overdue(self) -> bool:
        return (
            self.status != Status.COMPLETED
            and self.next_update_due is not None
            and self.next_update_due < timezone.localdate()
        )


REPORTING_STATES = ("current", "late", "never")


def reporting_cycle_starts(today: datetime.date | None = None) -> dict[int, datetime.datetime]:
    """{update frequency in months: the moment its current cycle began}, counted back from today.

    A partner has reported "within the cycle" when its last report is at or after that moment; an
    action without a frequency counts once the partner has reported at all.
    """
    today = today or timezone.localdate()
    starts: dict[int, datetime.datetime] = {}
    for months in UpdateFrequency.values:
        start = add_months(today, -months)
        starts[months] = timezone.make_aware(datetime.datetime(start.year, start.month, start.day))
    return starts


def reporting_cycle_q(today: datetime.date | None = None, frequency: str = "update_frequency") -> Q:
    """Q on a `last_reported` annotation: reported within the update cycle (`frequency` names its field)."""
    q = Q(**{f"{frequency}__isnull": True, "last_reported__isnull": False})
    for months, start in reporting_cycle_starts(today).items():
        q |= Q(**{frequency: months, "last_reported__gte": start})
    return q


def last_report_by(organisation_ref: Any, action_ref: Any) -> Greatest:
    """Subquery: when the organisation last reported on the action (a submission or an update it made)."""
    submitted = Submission.objects.filter(action=action_ref, organisation=organisation_ref).order_by("-submitted_at")
    updated = ProgressUpdate.objects.filter(action=action_ref, organisation=organisation_ref).order_by("-created_at")
    last_submission = Subquery(submitted.values("submitted_at")[:1])
    last_update = Subquery(updated.values("created_at")[:1])
    # Greatest() is NULL on SQLite when either side is: coalesce each with the other first.
    return Greatest(Coalesce(last_submission, last_update), Coalesce(last_update, last_submission))


class ActionPartnerQuerySet(models.QuerySet["ActionPartner"]):
    def live(self) -> Self:
        """Partnerships on live actions (Action.objects.live), as the register and the dashboard count them."""
        return self.filter(*(live_q(f"action__{level}") for level in ACTION_LEVELS))

    def with_reporting(self, today: datetime.date | None = None) -> Self:
        """Annotate each partnership with `last_reported` and `reporting` ("current", "late" or "never").

        The one rule for "has this organisation reported on this action": the organisation page, the
        dashboard's engagement table and the register's reporting filter all read it from here. A
        report is a submission from the organisation (in any state) or an update recorded as theirs;
        "current" means the last one falls within the action's update cycle (reporting_cycle_starts),
        or, for an action without a frequency, that there is one at all. When the last report was
        made is kept on the partnership (`last_reported_at`, see refresh_last_reported).
        """
        return self.annotate(last_reported=models.F("last_reported_at")).annotate(
            reporting=Case(
                When(last_reported__isnull=True, then=Value("never")),
                When(reporting_cycle_q(today, frequency="action__update_frequency"), then=Value("current")),
                default=Value("late"),
                output_field=models.CharField(),
            )
        )

    def of_actions(self, actions: models.QuerySet[Action]) -> Self:
        """The partnerships of `actions`; all of them, without a semi-join, when `actions` is every action."""
        if not actions.query.has_filters():
            return self
        return self.filter(action__in=actions)

    def refresh_last_reported(self) -> int:
        """Set `last_reported_at` of these partnerships from their reports (last_report_by), in one UPDATE.

        For partnerships whose reports are not known to the services that record them one by one: new
        partnerships (an organisation may have reported on the action before), data migrations and bulk loads.
        """
        return self.update(last_reported_at=last_report_by(OuterRef("organisation_id"), OuterRef("action_id")))

    def reporting_differences(self) -> list[tuple[int, datetime.datetime | None, datetime.datetime | None]]:
        """[(partnership pk, stored last_reported_at, computed)] wherever the stored value is not the reports' own."""
        rows = self.annotate(computed=last_report_by(OuterRef("organisation_id"), OuterRef("action_id"))).values_list(
            "pk", "last_reported_at", "computed"
        )
        return [(pk, stored, computed) for pk, stored, computed in rows.iterator() if stored != computed]

    def engagement(self, today: datetime.date | None = None) -> list[dict[str, Any]]:
        """Per organisation: actions partnered, reported within their update cycle, and reported at all.

        One grouped query over with_reporting(), so the counts follow the same rule as the register's
        filter and the organisation page; no row per partnership reaches Python.
        """
        # Grouped by the organisation's id alone, then named in a second small query: joining every
        # partnership to its organisation's name and grouping or sorting on it cost more than the counting.
        counts = list(
            self.with_reporting(today)
            .order_by()
            .values("organisation_id")
            .annotate(
                partnered=models.Count("pk"),
                current=models.Count("pk", filter=Q(reporting="current")),
                ever=models.Count("pk", filter=~Q(reporting="never")),
            )
        )
        organisations = cast("type[Organisation]", self.model.organisation.field.related_model).objects
        names = {
            pk: (name, slug)
            for pk, name, slug in organisations.filter(pk__in=[row["organisation_id"] for row in counts]).values_list(
                "pk", "name", "slug"
            )
        }
        for row in counts:
            row["organisation__name"], row["organisation__slug"] = names[row["organisation_id"]]
        return sorted(counts, key=lambda row: row["organisation__name"])


class ActionPartner(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        SUPPORTING = "supporting", "Supporting"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="partnerships")
    organisation = models.ForeignKey("tracker.Organisation", on_delete=models.CASCADE, related_name="partnerships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SUPPORTING)
    # When the organisation last reported on the action (a submission or an update recorded as theirs):
    # kept by the services that record reports (priorities.services), read by with_reporting().
    last_reported_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ActionPartnerQuerySet.as_manager()

    class Meta:
        ordering = ["action", "role", "organisation__name"]
        verbose_name = "action partner"
        constraints = [
            models.UniqueConstraint(fields=["action", "organisation"], name="unique_partner_per_action"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()}) on {self.action.code}"


class ProgressUpdateQuerySet(models.QuerySet["ProgressUpdate"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Updates on the actions a user may see."""
        return self.filter(action__in=Action.objects.visible_to(user))


class ProgressUpdate(models.Model):
    """One recorded change of an action's progress. Append-only: never edited or deleted in the app."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=20, choices=Status.choices)
    previous_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    note = models.TextField(max_length=5000, blank=True)
    evidence_url = models.URLField(
        "evidence link",
        max_length=500,
        blank=True,
        validators=[
            URLValidator(schemes=["http", "https"], message="Enter a link that starts with https:// or http://")
        ],
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="progress_updates"
    )
    organisation = models.ForeignKey(
        "tracker.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="progress_updates",
        help_text="The partner organisation that reported it, if any.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action_version = models.PositiveIntegerField(
        null=True, editable=False, help_text="The action's version this update produced."
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="For progress reported by a partner: who in the secretariat accepted it.",
    )
    is_demo = models.BooleanField(default=False, help_text="Made by load_demo, not by a real user.")
    is_public = models.BooleanField(
        "public", default=False, help_text="Shown on the public pages (its status, date and note; never who wrote it)."
    )

    objects = ProgressUpdateQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = "created_at"
        indexes = [
            # When did an organisation last report on an action (dashboard, register's reporting filter).
            models.Index(fields=["action", "organisation", "created_at"], name="update_action_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action.code}: {self.get_status_display()} ({self.created_at:%d %b %Y})"

    @property
    def status_changed(self) -> bool:
        return bool(self.previous_status) and self.previous_status != self.status


CHANGE_FIELD_LABELS = {
    "code": "Code",
    "objective": "Objective",
    "title": "Title",
    "owner": "Owner",
    "status": "Status",
    "start_date": "Start date",
    "target_date": "Target date",
    "update_frequency": "Update frequency",
    "partners": "Partners",
    "description": "Description",
    "public_summary": "Public summary",
    "update_public": "Update shown publicly",
    "created": "Created",
    "archived": "Archived",
    "carried_forward_to": "Carried forward to",
    "carried_forward_from": "Carried forward from",
}


class ActionChange(ChangeRecord):
    """One field of an action changed: who, when, old and new value. Written only by the services."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="changes")
    changed_by = changed_by_field("action_changes")
    action_version = models.PositiveIntegerField(
        null=True, editable=False, help_text="The action's version this change produced."
    )

    FIELD_LABELS = CHANGE_FIELD_LABELS

    # Not a field: the accepted report a change made by a review came from, attached by the action page's view.
    review: ProgressUpdate | None

    @classmethod
    def about(cls, action: Action, *, version: int | None = None) -> ChangeSubject[ActionChange]:
        """Changes of `action` that produced `version` (by default the action's version now)."""
        return ChangeSubject(cls, {"action": action, "action_version": action.version if version is None else version})

    def subject_label(self) -> str:
        return self.action.code


PLAN_CHANGE_FIELD_LABELS = {
    "title": "Title",
    "organisation_name": "Publisher",
    "start_date": "Start date",
    "end_date": "End date",
    "source_url": "Source link",
    "number": "Number",
    "aim": "Aim",
    "code": "Code",
    "created": "Created",
}


class PlanChange(ChangeRecord):
    """One field of a plan, priority or objective changed: who, when, old and new value. Services only.

    Actions keep their own history (ActionChange) and indicators theirs (IndicatorChange); this is the
    history of the plan's outline. `item_id` and `item_label` name the item as it was, so the row
    still reads when the item is renamed.
    """

    class Kind(models.TextChoices):
        PLAN = "plan", "Plan"
        PRIORITY = "priority", "Priority"
        OBJECTIVE = "objective", "Objective"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="changes")
    item_kind = models.CharField(max_length=20, choices=Kind.choices)
    item_id = models.PositiveIntegerField()
    item_label = models.CharField(max_length=400, help_text="The item as it was named when it changed.")
    changed_by = changed_by_field("plan_changes")

    FIELD_LABELS = PLAN_CHANGE_FIELD_LABELS

    class Meta(ChangeRecord.Meta):
        indexes = [models.Index(fields=["item_kind", "item_id"], name="plan_change_item")]

    @classmethod
    def about(cls, *, plan: Plan, kind: str, item: models.Model, label: str) -> ChangeSubject[PlanChange]:
        """Changes of `item` (the plan, one of its priorities or objectives), named `label` as it is now."""
        return ChangeSubject(cls, {"plan": plan, "item_kind": kind, "item_id": item.pk, "item_label": label})

    def subject_label(self) -> str:
        return self.item_label


class ArchiveDecision(models.Model):
    """One decision to archive or restore a priority or an objective: who, when. Written only by the services.

    (Actions and indicators record theirs in their own change history.)
    """

    priority = models.ForeignKey(
        Priority, on_delete=models.CASCADE, null=True, blank=True, related_name="archive_decisions"
    )
    objective = models.ForeignKey(
        Objective, on_delete=models.CASCADE, null=True, blank=True, related_name="archive_decisions"
    )
    archived = models.BooleanField(help_text="True: archived; False: restored.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="archive_decisions"
    )
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="archive_decision_names_one_item",
                condition=Q(priority__isnull=False, objective__isnull=True)
                | Q(priority__isnull=True, objective__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} {'archived' if self.archived else 'restored'} {self.decided_at:%d %b %Y %H:%M}"

    @property
    def item(self) -> Priority | Objective | None:
        return self.priority or self.objective


class SubmissionQuerySet(models.QuerySet["Submission"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Staff see every submission; a partner sees only their own organisation's."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role in (user.Role.SECRETARIAT, user.Role.COMMISSIONER):
            return self
        if user.role == user.Role.PARTNER and user.organisation_id:
            return self.filter(organisation_id=user.organisation_id, action__in=Action.objects.visible_to(user))
        return self.none()

    def pending(self) -> Self:
        return self.filter(state=Submission.State.SUBMITTED)

    def pending_from(self, *, action_ref: Any, organisation_ref: Any) -> Exists:
        """Exists: the organisation has progress on the action waiting for review (no reminder is owed then)."""
        return Exists(self.pending().filter(action=action_ref, organisation=organisation_ref))

    def awaiting_answer(self) -> Self:
        """Returned submissions their organisation has not answered yet (no later submission on the action)."""
        later = Submission.objects.filter(
            action=OuterRef("action"), organisation=OuterRef("organisation"), submitted_at__gt=OuterRef("submitted_at")
        )
        return self.filter(state=Submission.State.RETURNED).exclude(Exists(later))


class Submission(models.Model):
    """Progress reported by a partner organisation: proposed, not official until the secretariat accepts it."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        RETURNED = "returned", "Returned"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="submissions")
    organisation = models.ForeignKey("tracker.Organisation", on_delete=models.PROTECT, related_name="submissions")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField("proposed status", max_length=20, choices=Status.choices)
    note = models.TextField(max_length=5000, blank=True)
    evidence_url = models.URLField(
        "evidence link",
        max_length=500,
        blank=True,
        validators=[
            URLValidator(schemes=["http", "https"], message="Enter a link that starts with https:// or http://")
        ],
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.SUBMITTED, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(max_length=5000, blank=True)
    progress_update = models.OneToOneField(
        ProgressUpdate, on_delete=models.SET_NULL, null=True, blank=True, related_name="submission"
    )

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["action", "organisation", "submitted_at"], name="submission_action_org_time")]
        constraints = [
            models.CheckConstraint(
                name="submission_decision_is_complete",
                condition=Q(state="submitted", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(state="submitted") & Q(decided_by__isnull=False, decided_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="returned_submission_has_reason",
                condition=~Q(state="returned") | ~Q(return_reason=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action.code} from {self.organisation}: {self.get_status_display()} ({self.get_state_display()})"
