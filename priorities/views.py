from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from .models import Action, ActionPartner, Objective, Plan, Priority, ProgressUpdate


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


@login_required
def action_detail(request, pk):
    action = get_object_or_404(
        Action.objects.visible_to(request.user).select_related("objective__priority__plan", "owner"),
        pk=pk,
    )
    partnerships = ActionPartner.objects.filter(action=action).select_related("organisation")
    updates = ProgressUpdate.objects.filter(action=action).select_related("author", "organisation")
    return render(
        request,
        "priorities/action_detail.html",
        {"action": action, "partnerships": partnerships, "updates": updates},
    )
