"""A plan file and where it goes (the upload page's form)."""

from collections.abc import Iterable
from typing import Any

from django import forms

from priorities.models import Plan
from tracker.forms import SpreadsheetFileField


class PlanImportForm(forms.Form):
    """A plan file and where it goes: an existing plan (its codes are updated) or a new plan with a title."""

    NEW_PLAN = "new"

    file = SpreadsheetFileField(
        label="Plan file",
        help_text="CSV or Excel (.xlsx), up to 10 MB, one row per action.",
    )
    plan = forms.ChoiceField(
        label="Import into",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the plan to import into, or a new plan.",
            "invalid_choice": "Choose one of the plans listed, or a new plan.",
        },
    )
    new_plan_title = forms.CharField(
        label="Title of the new plan",
        max_length=Plan._meta.get_field("title").max_length,
        required=False,
        help_text="Only for a new plan, e.g. Strategic plan 2027 to 2030.",
    )

    def __init__(self, *args: Any, plans: Iterable[Plan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = {str(plan.pk): plan for plan in plans}
        self.fields["plan"].choices = [  # type: ignore[attr-defined]  # a ChoiceField, declared above(pk, plan.title) for pk, plan in self.plans.items()] + [
            (self.NEW_PLAN, "A new plan")
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choice = cleaned.get("plan") or ""
        cleaned["plan_object"] = self.plans.get(choice)
        if choice == self.NEW_PLAN and not " ".join(cleaned.get("new_plan_title", "").split()):
            self.add_error("new_plan_title", "Enter the title of the new plan.")
        return cleaned
