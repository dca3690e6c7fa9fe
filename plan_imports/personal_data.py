"""The plan imports' part of a person's data (tracker.personal_data): the plan files they uploaded (names and dates)."""

from collections.abc import Iterator
from typing import Any

from tracker.models import User
from tracker.personal_data import register_export

from .models import PlanImport


def _plan_imports(person: User) -> Iterator[dict[str, Any]]:
    for upload in PlanImport.objects.filter(uploaded_by=person).select_related("plan").order_by("uploaded_at"):
        yield {
            "file": upload.filename,
            "plan": upload.plan_title,
            "uploaded_at": upload.uploaded_at,
            "confirmed_at": upload.confirmed_at,
            "rows_written": upload.rows_written,
        }


def register() -> None:
    """Tell tracker.personal_data what the plan imports hold about a person (called from PlanImportsConfig.ready())."""
    register_export(
        name="plan_imports", title="Plan files they uploaded", models=["plan_imports.PlanImport"], rows=_plan_imports
    )
