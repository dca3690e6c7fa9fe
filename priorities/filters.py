import django_filters
from django import forms
from django.db.models import Q

from tracker.models import Organisation, User

from .models import Action, Objective, Priority, Status
from .plan_choice import current_plan

# The choices are the plan on screen's (plan_choice.current_plan, worked out once per request).


def _priorities(request):
    if request is None:
        return Priority.objects.none()
    return Priority.objects.live().filter(plan=current_plan(request)).select_related("plan")


def _objectives(request):
    if request is None:
        return Objective.objects.none()
    return Objective.objects.live().filter(priority__plan=current_plan(request)).select_related("priority")


def _partner_organisations(request):
    """Partners choose only their own organisation; staff choose any organisation that partners an action."""
    if request is None or not request.user.is_authenticated:
        return Organisation.objects.none()
    user = request.user
    if user.role == User.Role.PARTNER:
        return Organisation.objects.filter(pk=user.organisation_id)
    return Organisation.objects.filter(partnerships__isnull=False).distinct()


def _owners(request):
    if request is None or request.user.role == User.Role.PARTNER:
        return User.objects.none()
    return User.objects.filter(role=User.Role.SECRETARIAT, is_active=True)


class ActionFilter(django_filters.FilterSet):
    """The register's filters; every one lives in the URL so a view of the register can be shared."""

    q = django_filters.CharFilter(
        label="Search",
        method="search",
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text="Code, title or description",
        max_length=200,
        error_messages={"max_length": "Search for at most 200 characters."},
    )
    priority = django_filters.ModelChoiceFilter(
        field_name="objective__priority", queryset=_priorities, label="Priority", empty_label="All priorities"
    )
    objective = django_filters.ModelChoiceFilter(queryset=_objectives, label="Objective", empty_label="All objectives")
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, widget=forms.CheckboxSelectMultiple, label="Status"
    )
    partner = django_filters.ModelChoiceFilter(
        field_name="partnerships__organisation",
        queryset=_partner_organisations,
        label="Partner organisation",
        empty_label="All partners",
    )
    reporting = django_filters.ChoiceFilter(
        choices=[
            ("current", "Reported within the update cycle"),
            ("late", "Reported, but not within the cycle"),
            ("never", "Never reported"),
        ],
        method="filter_reporting",
        label="The partner's reporting",
        empty_label="Any",
        help_text="With a partner organisation chosen",
    )
    owner = django_filters.ModelChoiceFilter(queryset=_owners, label="Owner", empty_label="Any owner")
    overdue = django_filters.BooleanFilter(method="filter_overdue", widget=forms.CheckboxInput, label="Overdue only")

    # Apps above the plan add their own filters here (indicators adds "indicator" after "objective",
    # see indicators/apps.py), so the plan does not import them.
    class Meta:
        model = Action
        fields = ["q", "priority", "objective", "status", "partner", "reporting", "owner", "overdue"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None and request.user.role == User.Role.PARTNER:
            # Owners are the secretariat's business.
            del self.filters["owner"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(title__icontains=value) | Q(description__icontains=value))

    def filter_reporting(self, queryset, name, value):
        partner = self.form.cleaned_data.get("partner")
        if not value or partner is None:
            return queryset
        return queryset.partner_reporting(partner.pk, value)

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        if self.request is not None and self.request.user.role == User.Role.PARTNER:
            # As on the partner's home: progress they submitted is not overdue while it awaits review.
            return queryset.overdue().exclude(awaiting_review=True)
        return queryset.overdue()


def add_register_filter(name, filter_, *, after):
    """Add `filter_` to the register's filters, after the filter called `after` (for apps above the plan)."""
    filters = {}
    for existing_name, existing in ActionFilter.base_filters.items():
        filters[existing_name] = existing
        if existing_name == after:
            filters[name] = filter_
    if name not in filters:
        raise ValueError(f"The register has no filter called {after!r}.")
    ActionFilter.base_filters = filters
