from django.urls import reverse

from indicators.models import MeasurementSubmission
from priorities.models import Submission

# The pages that show one plan (priorities/plan_choice.py): on such a page their links carry the plan shown.
PER_PLAN = {
    "home",
    "priorities:action-list",
    "overview:dashboard",
    "overview:progress-report",
    "indicators:indicator-list",
    "organisation-list",
    "priorities:plan",
}


def _item(name, text):
    return {"href": reverse(name), "text": text, "per_plan": name in PER_PLAN}


def _items_for(user):
    """Navigation entries for a role: {"href", "text"}."""
    if not user.is_authenticated:
        return []
    if user.role == user.Role.PARTNER:
        entries = [
            ("home", "Our actions"),
            ("indicators:indicator-list", "Indicators"),
            ("priorities:plan", "The plan"),
        ]
        # Returned progress and values the organisation has not answered yet, counted in one query.
        returned = (
            Submission.objects.visible_to(user)
            .awaiting_answer()
            .order_by()
            .values("pk")
            .union(MeasurementSubmission.objects.visible_to(user).awaiting_answer().order_by().values("pk"), all=True)
            .count()
        )
        if returned:
            items = [_item(name, text) for name, text in entries]
            items.insert(1, {"href": reverse("home") + "#recent-submissions", "text": f"To answer ({returned})"})
            return items
    elif user.role == user.Role.COMMISSIONER:
        entries = [
            ("overview:dashboard", "Dashboard"),
            ("priorities:action-list", "Actions"),
            ("indicators:indicator-list", "Indicators"),
            ("overview:progress-report", "Progress report"),
            ("organisation-list", "Organisations"),
            ("priorities:plan", "The plan"),
        ]
    else:
        # Progress and indicator values waiting for review, counted in one query.
        pending = (
            Submission.objects.pending()
            .order_by()
            .values("pk")
            .union(MeasurementSubmission.objects.pending().order_by().values("pk"), all=True)
            .count()
        )
        entries = [
            ("priorities:action-list", "Actions"),
            ("overview:review-queue", f"Reviews ({pending})" if pending else "Reviews"),
            ("indicators:indicator-list", "Indicators"),
            ("overview:dashboard", "Dashboard"),
            ("organisation-list", "Organisations"),
            ("person-list", "People"),
            ("priorities:plan", "The plan"),
            ("admin:index", "Admin"),
        ]
    return [_item(name, text) for name, text in entries]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    # Templates rendered inside a page (django-tables2's render_table) run the processors again.
    if hasattr(request, "_navigation_items"):
        return {"navigation_items": request._navigation_items}
    items = _items_for(user)
    path = request.path
    # The longest matching prefix is the current section (so "/" does not light up everywhere).
    best = max((i for i in items if path.startswith(i["href"])), key=lambda i: len(i["href"]), default=None)
    if path.startswith("/accounts/"):
        best = None  # the account pages have their own "Your account" entry (includes/header.html)
    for item in items:
        item["current"] = item is best
    request._navigation_items = items
    return {"navigation_items": items}
