"""Which plan a page shows: decided here and nowhere else (the register, its downloads, the dashboard,
the progress report and the indicators list all call current_plan).

The order is: `?plan=<slug>` in the address (so a copied link shows a colleague the same plan), then
the plan the person last chose (PlanChoice), then the default: the most recent plan that is current
(start <= today <= end), else the one that starts latest. A `?plan=` the person may not see or that
does not exist falls back the same way, with a message saying so. A partner may choose only the
plans in which their organisation partners an action.
"""

import dataclasses
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from tracker.permissions import PARTNER, STAFF

from .models import ActionPartner, Plan, PlanChoice
from .services import plan_choice_remember

PLAN_PARAM = "plan"
# Query parameters a switch keeps: they mean the same in every plan (filters naming a plan's objective do not).
KEPT_ON_SWITCH = ("as_of", "since")


@dataclasses.dataclass
class PlanSwitch:
    """The plan a request shows and the plans its person may switch between, newest first."""

    plan: Plan | None
    plans: list
    kept: list = dataclasses.field(default_factory=list)

    @property
    def show(self):
        """The switcher and the `?plan=` on links appear only when there is a choice to make."""
        return len(self.plans) > 1

    @property
    def slug(self):
        """The `plan` parameter for links: None with a single plan, so nothing changes then."""
        return self.plan.slug if self.plan is not None and self.show else None

    @property
    def query(self):
        """`plan=<slug>` (or "") for a link's query string."""
        return urlencode({PLAN_PARAM: self.slug}) if self.slug else ""


def plans_for(user):
    """The plans a person may choose: every plan for staff, for a partner those their organisation partners in."""
    if not user.is_authenticated or not user.is_active:
        return Plan.objects.none()
    if user.role in STAFF:
        return Plan.objects.all()
    if user.role == PARTNER and user.organisation_id:
        partnered = ActionPartner.objects.filter(
            organisation_id=user.organisation_id, action__objective__priority__plan=OuterRef("pk")
        )
        return Plan.objects.filter(Exists(partnered))
    return Plan.objects.none()


def default_plan(plans, today=None):
    """The most recent plan that is current on `today` (start <= today <= end), else the one starting latest."""
    today = today or timezone.localdate()
    current = [
        plan
        for plan in plans
        if plan.start_date is not None
        and plan.start_date <= today
        and (plan.end_date is None or today <= plan.end_date)
    ]
    # `plans` come newest start first (plan_switch), so the first of either list is the most recent.
    return (current or list(plans) or [None])[0]


def plan_switch(request):
    """The request's PlanSwitch, worked out once per request in one query (plus a write when ?plan= changes it)."""
    if hasattr(request, "_plan_switch"):
        return request._plan_switch
    user = request.user
    chosen = PlanChoice.objects.filter(user_id=user.pk or 0, plan=OuterRef("pk"))
    plans = list(
        plans_for(user)
        .annotate(chosen=Exists(chosen))
        .order_by(F("start_date").desc(nulls_last=True), "title", "pk")
        .only("pk", "title", "slug", "start_date", "end_date")
    )
    requested = (request.GET.get(PLAN_PARAM) or "").strip()
    plan = None
    if requested:
        plan = next((p for p in plans if p.slug == requested), None)
        if plan is None:
            if plans and not getattr(request, "htmx", False):
                messages.warning(
                    request,
                    f"There is no plan “{requested[:60]}” for you to see: showing another plan.",
                    fail_silently=True,
                )
        elif not plan.chosen and user.is_authenticated:
            plan_choice_remember(user=user, plan=plan)
            for other in plans:
                other.chosen = other is plan
    if plan is None:
        plan = next((p for p in plans if p.chosen), None) or default_plan(plans)
    kept = [(name, request.GET[name]) for name in KEPT_ON_SWITCH if request.GET.get(name)]
    request._plan_switch = PlanSwitch(plan=plan, plans=plans, kept=kept)
    return request._plan_switch


def current_plan(request):
    """The plan this request shows (None only when the person may see no plan at all)."""
    return plan_switch(request).plan
