"""Plan periods: start the next plan, carrying the chosen actions of this one forward (secretariat only)."""

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from tracker.forms import apply_errors
from tracker.permissions import SECRETARIAT, role_required

from ..forms import NextPlanForm
from ..models import Action, Plan, Status
from ..plan_choice import PLAN_PARAM
from ..services import plan_start_next


@role_required(SECRETARIAT)
def plan_start_next_view(request, pk):
    """A form for the new plan's title and dates and the actions to copy; unfinished actions come chosen."""
    plan = get_object_or_404(Plan, pk=pk)
    actions = (
        Action.objects.live()
        .filter(objective__priority__plan=plan)
        .select_related("objective__priority")
        .only(
            "pk",
            "code",
            "title",
            "status",
            "sort_key",
            "objective__sort_key",
            "objective__priority__number",
            "objective__priority__plan",
        )
        .order_by("objective__priority__number", "objective__sort_key", "sort_key")
    )
    if request.method == "POST":
        form = NextPlanForm(request.POST, actions=actions)
        if form.is_valid():
            try:
                new_plan, copies = plan_start_next(
                    plan=plan,
                    title=form.cleaned_data["title"],
                    start_date=form.cleaned_data["start_date"],
                    end_date=form.cleaned_data["end_date"],
                    actions=form.cleaned_data["actions"],
                    by=request.user,
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                n = len(copies)
                actions_text = f"{n} action{'' if n == 1 else 's'}"
                message = f"{new_plan.title} started: {actions_text} carried forward from {plan.title}."
                if new_plan.start_date and new_plan.start_date > timezone.localdate():
                    # It is shown here, but nobody's default moves until it starts (plan_choice.default_plan).
                    message += (
                        f" Until it starts on {new_plan.start_date:%-d %B %Y}, pages show the current plan unless"
                        f" you choose {new_plan.title} in the plan switcher."
                    )
                messages.success(request, message)
                return redirect(f"{reverse('priorities:action-list')}?{urlencode({PLAN_PARAM: new_plan.slug})}")
    else:
        initial: dict[str, Any] = {"actions": [a.pk for a in actions if a.status != Status.COMPLETED]}
        if plan.end_date:
            initial["start_date"] = plan.end_date + datetime.timedelta(days=1)
        form = NextPlanForm(actions=actions, initial=initial)
    status = 400 if request.method == "POST" else 200
    return render(request, "priorities/plan_start_next.html", {"plan": plan, "form": form}, status=status)
