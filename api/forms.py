from typing import Any

from django import forms

from tracker.models import User

from .models import AccessToken
from .services import DEFAULT_EXPIRY_DAYS, EXPIRY_DAYS, scopes_for

SCOPE_HINTS = {
    AccessToken.Scope.READ: "Read: lists, items and feeds you can see in the browser (Excel, Power BI).",
    AccessToken.Scope.REPORT: "Read and report: also report progress and values, as you can in the browser.",
}


def _days_label(days: int) -> str:
    return "1 year" if days == 365 else f"{days} days"


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What will use it, so you can tell your tokens apart, e.g. “Power BI board pack”.",
        error_messages={"required": "Enter a name for the token.", "max_length": "Use 100 characters or fewer."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        choices=[(days, _days_label(days)) for days in EXPIRY_DAYS],
        initial=DEFAULT_EXPIRY_DAYS,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose when the token expires."},
    )
    scope = forms.ChoiceField(label="What it may do", widget=forms.RadioSelect, initial=AccessToken.Scope.READ)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scope"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(scope, SCOPE_HINTS[scope]) for scope in scopes_for(user)]
        self.fields["scope"].error_messages["required"] = "Choose what the token may do."
