"""Which plan a page shows: decided here and nowhere else (the register, its downloads, the dashboard,
the progress report and the indicators list all call current_plan).

The order is: `?plan=<slug>` in the address (so a copied link shows a colleague the same plan), then
the plan the person last chose in the plan switcher (PlanChoice), then the default (default_plan):
the current plan, which stays the default until the next one starts. A `?plan=` the person may not
see or that does not exist falls back the same way, with a message saying so. A partner may choose
only the plans in which their organisation partners an action.

Reading a page never writes: a `?plan=` link shows its plan and remembers nothing (the secretariat
landing on a plan it has just started must not make it their default). Only the switcher's choice,
a POST (plan_choose), is remembered; choosing the default plan forgets any earlier choice, so the
person follows the current plan again when the next one starts.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tracker.models import User
from tracker.permissions import PARTNER, STAFF

from .models import ActionPartner, Plan, PlanChoice
from .services import plan_choice_forget, plan_choice_remember

if TYPE_CHECKING:
    # Only for annotations: a plan as _choosable returns it, with `chosen`.
    from django_stubs_ext import WithAnnotations


class _Chosen(TypedDict):
    chosen: bool


_P = TypeVar("_P", bound=Plan)

PLAN_PARAM = "plan"
# Query parameters a switch keeps: they mean the same in every plan (filters naming a plan's objective do not).
KEPT_ON_SWITCH = ("as_of", "since")


@dataclasses.dataclass
class PlanSwitch:
    """The plan a request shows and the plans its person may switch between, newest first."""

    plan: Plan | None
    plans: list[WithAnnotations[Plan, _Chosen]]
    kept: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def show(self) -> bool:
        """The switcher and the `?plan=` on links appear only when there is a choice to make."""
        return len(self.plans) > 1

    @property
    def slug(self) -> str | None:
        """The `plan` parameter for links: None with a single plan, so nothing changes then."""
        return self.plan.slug if self.plan is not None and self.show else None

    @property
    def query(self) -> str:
        """`plan=<slug>` (or "") for a link's query string."""
        return urlencode({PLAN_PARAM: self.slug}) if self.slug else ""


def plans_for(user: User | AnonymousUser) -> QuerySet[Plan]:
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


def default_plan(plans: Iterable[_P], today: datetime.date | None = None) -> _P | None:
    """The plan a person sees before choosing one: the current plan, until the next one starts.

    Among the plans that have started (a plan without a start date counts as started, one without an
    end date as not ended): the one that has not ended and started last, else the one that ended
    last (between two plans, the last one stays until the next starts); with none started, the
    first to start. A plan starting in the future is never the default while another has started.
    """
    today = today or timezone.localdate()
    plans = list(plans)
    started = [plan for plan in plans if plan.start_date is None or plan.start_date <= today]
    if started:

        def recency(plan: _P) -> tuple[bool, datetime.date]:
            running = plan.end_date is None or today <= plan.end_date
            return (running, plan.start_date or datetime.date.min)

        # max() keeps the first of equals: `plans` come newest start first, then by title (plan_switch).
        return max(started, key=recency)
    # Only plans with a start date are left here (one without counts as started).
    return min(plans, key=lambda plan: plan.start_date or datetime.date.max, default=None)


def _choosable(user: User | AnonymousUser) -> list[WithAnnotations[Plan, _Chosen]]:
    """The plans `user` may choose, newest start first, each with `chosen` (the one they last chose): one query."""
    chosen = PlanChoice.objects.filter(user_id=user.pk or 0, plan=OuterRef("pk"))
    return list(
        plans_for(user)
        .annotate(chosen=Exists(chosen))
        .order_by(F("start_date").desc(nulls_last=True), "title", "pk")
        .only("pk", "title", "slug", "start_date", "end_date")
    )


def _not_yours(request: HttpRequest, requested: str) -> None:
    messages.warning(
        request, f"There is no plan “{requested[:60]}” for you to see: showing another plan.", fail_silently=True
    )


def plan_switch(request: HttpRequest) -> PlanSwitch:
    """The request's PlanSwitch, worked out once per request in one query; it writes nothing."""
    if hasattr(request, "_plan_switch"):
        return cast(PlanSwitch, request._plan_switch)  # a per-request cache
    plans = _choosable(request.user)
    requested = (request.GET.get(PLAN_PARAM) or "").strip()
    plan = None
    if requested:
        plan = next((p for p in plans if p.slug == requested), None)
        if plan is None and plans and not getattr(request, "htmx", False):
            _not_yours(request, requested)
    if plan is None:
        plan = next((p for p in plans if p.chosen), None) or default_plan(plans)
    kept = [(name, request.GET[name]) for name in KEPT_ON_SWITCH if request.GET.get(name)]
    switch = PlanSwitch(plan=plan, plans=plans, kept=kept)
    request._plan_switch = switch  # type: ignore[attr-defined]  # the same per-request cache
    return switch


def plan_choose(request: HttpRequest, requested: str | None) -> Plan | None:
    """The plan switcher's choice (a POST): remember it, or forget the choice when it is the default plan.

    Returns the plan chosen, or None (with a message) when the person may not see one of that name.
    """
    requested = (requested or "").strip()
    plans = _choosable(request.user)
    plan = next((p for p in plans if p.slug == requested), None)
    if plan is None:
        _not_yours(request, requested)
        return None
    # A plan to choose means a signed-in person (plans_for gives no plan to anyone else).
    user = cast(User, request.user)
    if plan is default_plan(plans):
        plan_choice_forget(user=user)
    elif not plan.chosen:
        plan_choice_remember(user=user, plan=plan)
    return plan


def current_plan(request: HttpRequest) -> Plan | None:
    """The plan this request shows (None only when the person may see no plan at all)."""
    return plan_switch(request).plan
