from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from ..models import Action, ActionPartner, ProgressUpdate


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
