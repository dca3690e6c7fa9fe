import django_filters
from django import forms
from django.db.models import Q, QuerySet

from tracker.access import Kind
from tracker.models import Organisation, User

from .models import AccessEvent

DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"})


class AccessEventFilter(django_filters.FilterSet):
    """The access log's filters, all in the address (a view of the log can be bookmarked or shared)."""

    who = django_filters.CharFilter(
        label="Who",
        method="filter_who",
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text="Name, email address or username",
        max_length=200,
        error_messages={"max_length": "Search for at most 200 characters."},
    )
    # From a person's page: one person's own access, or downloads of their data.
    user = django_filters.ModelChoiceFilter(
        queryset=User.objects.all(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "There is no such person: clear the filters to see everyone's access."},
    )
    subject = django_filters.ModelChoiceFilter(
        queryset=User.objects.all(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "There is no such person: clear the filters to see every download."},
    )
    kind = django_filters.ChoiceFilter(choices=Kind.choices, label="What kind", empty_label="Every kind")
    role = django_filters.ChoiceFilter(choices=User.Role.choices, label="Their role", empty_label="Any role")
    organisation = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.all(), label="Their organisation", empty_label="Any organisation"
    )
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From", widget=DATE)
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="To", widget=DATE)
    client = django_filters.CharFilter(
        label="From address",
        lookup_expr="startswith",
        help_text="The start of a client's address, e.g. 10.0.",
        max_length=100,
        error_messages={"max_length": "Give at most 100 characters."},
    )

    def filter_who(self, queryset: QuerySet[AccessEvent], name: str, value: str) -> QuerySet[AccessEvent]:
        for word in value.split():
            queryset = queryset.filter(
                Q(user__first_name__icontains=word)
                | Q(user__last_name__icontains=word)
                | Q(user__email__icontains=word)
                | Q(user__username__icontains=word)
            )
        return queryset
