from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tracker.permissions import SECRETARIAT, role_required

from ..models import Action, Objective, Plan, PlanChange, PlanPublication, Priority
from ..plan_choice import KEPT_ON_SWITCH, PLAN_PARAM, current_plan, plan_choose, plan_switch
from ..services import plan_publish, plan_unpublish

PUBLICATION_HISTORY = 20
PLAN_HISTORY = 20
PLAN_ACTIONS_SHOWN = 10  # per objective; the register lists all of them


@require_GET
@login_required
def plan_overview(request):
    """The plan chosen with the plan switcher (plan_choice.py), with each visible action's current status.

    For the secretariat it is the plan's outline: each priority, objective, action and indicator links
    to its edit form, with links to add more, the recent changes, and publishing (through a
    confirmation page). Each objective shows its first PLAN_ACTIONS_SHOWN actions; the register lists
    them all.
    """
    plan = current_plan(request)
    visible = Action.objects.visible_to(request.user).live().filter(objective__priority__plan=plan)
    plans = (Plan.objects.filter(pk=plan.pk) if plan else Plan.objects.none()).prefetch_related(
        Prefetch(
            "priorities",
            queryset=Priority.objects.live().prefetch_related(
                Prefetch("objectives", queryset=Objective.objects.live())
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
    shown_plans = list(plans)
    # The first PLAN_ACTIONS_SHOWN of each objective (ranked in SQL, one query) and the number of all of
    # them: the register lists the rest (issue 18: no page renders every action).
    first = (
        visible.select_related("owner")
        .annotate(rank=Window(RowNumber(), partition_by=F("objective_id"), order_by=[F("sort_key"), F("pk")]))
        .filter(rank__lte=PLAN_ACTIONS_SHOWN)
        .order_by("objective_id", "rank")
    )
    by_objective: dict[int, list[Action]] = {}
    for action in first:
        by_objective.setdefault(action.objective_id, []).append(action)
    totals = dict(
        visible.order_by().values_list("objective_id").annotate(n=Count("pk")).values_list("objective_id", "n")
    )
    for plan in shown_plans:
        for priority in plan.priorities.all():
            for objective in priority.objectives.all():
                objective.first_actions = by_objective.get(objective.pk, [])
                objective.action_total = totals.get(objective.pk, 0)
    context = {
        "plans": shown_plans,
        "can_publish": is_secretariat,
        "can_edit": is_secretariat,
        "shown": PLAN_ACTIONS_SHOWN,
        "plan_query": plan_switch(request).query,
    }
    return render(request, "priorities/plan.html", context)


def _plan_page(plan):
    """The plan page showing `plan` (its `?plan=` named, so the page shows it whatever the default)."""
    return f"{reverse('priorities:plan')}?{urlencode({PLAN_PARAM: plan.slug})}"


def _decide(request, pk, *, publish):
    """GET: the confirmation page naming the plan and what becomes public (or stops being); POST: the decision."""
    plan = get_object_or_404(Plan, pk=pk)
    if request.method == "POST":
        decision = (plan_publish if publish else plan_unpublish)(plan=plan, by=request.user)
        if decision is None:
            messages.info(request, f"{plan.title} was already {'published' if publish else 'not published'}.")
        elif publish:
            messages.success(request, f"{plan.title} is published: its public pages and open data are online.")
        else:
            messages.success(request, f"{plan.title} is unpublished: its public pages and open data are offline.")
        return redirect(_plan_page(plan))
    today = timezone.localdate()
    context = {
        "plan": plan,
        "publish": publish,
        # Nothing to confirm when the plan is already as asked: the page says so and offers no button.
        "to_do": plan.is_published != publish,
        "scope": Plan.objects.publication_scope(plan),
        "not_started": plan.start_date is not None and plan.start_date > today,
        "ended": plan.end_date is not None and plan.end_date < today,
        "others": list(Plan.objects.published().exclude(pk=plan.pk).order_by("title").only("title")),
        "plan_page": _plan_page(plan),
        "public_cache_minutes": max(1, round(settings.PUBLIC_CACHE_SECONDS / 60)),
    }
    return render(request, "priorities/plan_publication_confirm.html", context)


@require_POST
@login_required
def plan_choose_view(request):
    """The plan switcher: remember the chosen plan (plan_choice.plan_choose), then back to the page it was on.

    The page comes back with `?plan=` naming the choice (a link to it shows a colleague the same plan)
    and the parameters that mean the same in every plan (KEPT_ON_SWITCH); a page that is not on this
    site, or no page at all, is the home page.
    """
    plan = plan_choose(request, request.POST.get(PLAN_PARAM))
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    path = urlsplit(target).path if safe and target.startswith("/") else ""
    if not path.startswith("/") or path.startswith("//"):
        path = reverse("home")
    query = [(PLAN_PARAM, plan.slug)] if plan is not None else []
    query += [(name, request.POST[name]) for name in KEPT_ON_SWITCH if request.POST.get(name)]
    return redirect(f"{path}?{urlencode(query)}" if query else path)


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def plan_publish_view(request, pk):
    return _decide(request, pk, publish=True)


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def plan_unpublish_view(request, pk):
    return _decide(request, pk, publish=False)
