"""Messaging's forms: a person's email choices."""

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms


class NotificationChoicesForm(forms.Form):
    """Per kind of notification: as it happens or in a daily digest (notification_choices_set saves it)."""

    LABELS = {
        "submitted": "When a partner reports progress or a value for you to review",
        "decided": "When the secretariat accepts or returns something you reported",
    }

    def __init__(self, *args: Any, kinds: Iterable[str], deliveries: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind] = forms.ChoiceField(
                choices=deliveries,
                widget=forms.RadioSelect,
                label=self.LABELS.get(kind, kind),
                error_messages={"required": "Choose how you want these emails."},
            )
