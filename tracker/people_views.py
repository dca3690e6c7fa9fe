"""The people pages (secretariat only): everyone with an account, and one person's page."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Organisation, User
from .paging import page_of
from .people import PERSON_SECTIONS
from .permissions import SECRETARIAT, role_required


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="search",
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text="Name, email address or username",
        max_length=200,
        error_messages={"max_length": "Search for at most 200 characters."},
    )
    role = django_filters.ChoiceFilter(choices=User.Role.choices, empty_label="Any role")
    organisation = django_filters.ModelChoiceFilter(queryset=Organisation.objects.all(), empty_label="Any organisation")
    active = django_filters.ChoiceFilter(
        field_name="is_active",
        label="State",
        choices=[("1", "Active"), ("0", "Deactivated")],
        method="filter_active",
        empty_label="Active or deactivated",
    )

    def search(self, queryset, name, value):
        words = value.split()
        for word in words:
            queryset = queryset.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(username__icontains=word)
            )
        return queryset

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "1")


@require_GET
@role_required(SECRETARIAT)
def person_list(request):
    """Everyone with an account, 50 a page: staff and partners' people, active first."""
    people = User.objects.select_related("organisation").order_by("-is_active", "last_name", "first_name", "pk")
    filterset = PersonFilter(request.GET, queryset=people)
    selected = filterset.qs if filterset.is_valid() else people.none()
    page = page_of(request, selected)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "people": page.object_list, "query": query.urlencode()}
    return render(request, "tracker/person_list.html", context)


@require_GET
@role_required(SECRETARIAT)
def person_detail(request, user_id):
    """One person's account, and what the apps above add about them."""
    person = get_object_or_404(
        User.objects.select_related("organisation").annotate(
            has_two_step=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        ),
        pk=user_id,
    )
    sections = [{"template": s.template, "context": s.context(request, person)} for s in PERSON_SECTIONS]
    return render(request, "tracker/person_detail.html", {"person": person, "sections": sections})
