from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from tracker.permissions import SECRETARIAT, role_required

from ..models import Action, Objective, Plan, PlanChange, PlanPublication, Priority
from ..services import plan_publish, plan_unpublish

PUBLICATION_HISTORY = 20
PLAN_HISTORY = 20


@require_GET
@login_required
def plan_overview(request):
    """The plan as published, with each visible action's current status.

    For the secretariat it is the plan's outline: each priority, objective, action and indicator links
    to its edit form, with links to add more, the recent changes, and publishing.
    """
    actions = Action.objects.visible_to(request.user).live().select_related("owner")
    plans = Plan.objects.prefetch_related(
        Prefetch(
            "priorities",
            queryset=Priority.objects.live().prefetch_related(
                Prefetch(
                    "objectives",
                    queryset=Objective.objects.live().prefetch_related(Prefetch("actions", queryset=actions)),
                )
            ),
        )
    )
    is_secretariat = request.user.role == SECRETARIAT
    if is_secretariat:
        # The latest publishing decisions and outline changes, per plan (sliced prefetches: one query
        # each, however long the log), and the plan's indicators with their linked actions, for the
        # outline the secretariat edits. Indicators are reached through their relation's name: this
        # app does not import the indicators app, which sits above it.
        plans = plans.prefetch_related(
            Prefetch(
                "publications",
                queryset=PlanPublication.objects.select_related("decided_by")[:PUBLICATION_HISTORY],
                to_attr="recent_publications",
            ),
            Prefetch(
                "changes",
                queryset=PlanChange.objects.select_related("changed_by")[:PLAN_HISTORY],
                to_attr="recent_changes",
            ),
            Prefetch("indicators__actions", queryset=Action.objects.only("pk", "code", "sort_key")),
        )
    return render(
        request, "priorities/plan.html", {"plans": plans, "can_publish": is_secretariat, "can_edit": is_secretariat}
    )


def _decide(request, pk, *, publish):
    plan = get_object_or_404(Plan, pk=pk)
    decision = (plan_publish if publish else plan_unpublish)(plan=plan, by=request.user)
    if decision is None:
        messages.info(request, f"{plan.title} was already {'published' if publish else 'not published'}.")
    elif publish:
        messages.success(request, f"{plan.title} is published: its public pages and open data are online.")
    else:
        messages.success(request, f"{plan.title} is unpublished: its public pages and open data are offline.")
    return redirect("priorities:plan")


@require_POST
@role_required(SECRETARIAT)
def plan_publish_view(request, pk):
    return _decide(request, pk, publish=True)


@require_POST
@role_required(SECRETARIAT)
def plan_unpublish_view(request, pk):
    return _decide(request, pk, publish=False)
