from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..models import Action, Objective, Plan, Priority


@require_GET
@login_required
def plan_overview(request):
    """The plan as published, with each visible action's current status."""
    actions = Action.objects.visible_to(request.user).select_related("owner")
    plans = Plan.objects.prefetch_related(
        Prefetch(
            "priorities",
            queryset=Priority.objects.prefetch_related(
                Prefetch(
                    "objectives",
                    queryset=Objective.objects.prefetch_related(Prefetch("actions", queryset=actions)),
                )
            ),
        )
    )
    return render(request, "priorities/plan.html", {"plans": plans})
