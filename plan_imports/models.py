from django.conf import settings
from django.db import models
from django.db.models import Q

from priorities.models import Plan
from tracker.imports import StoredUpload


class PlanImport(StoredUpload):
    """An uploaded plan file, kept between its preview and its confirmation (tracker.imports).

    Either `plan` (an existing plan to update) or `new_plan_title` (a plan to make on confirmation) is
    set; after confirming, `plan` is the plan written. Unconfirmed uploads are deleted a day later.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, null=True, blank=True, related_name="imports")
    new_plan_title = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_imports")
    organisations_created = models.PositiveIntegerField(default=0)

    preview_url_name = "plan_imports:plan-import-preview"

    class Meta(StoredUpload.Meta):
        db_table = "priorities_planimport"  # the table it had in priorities
        constraints = [
            models.CheckConstraint(
                name="plan_import_has_a_plan_or_a_title",
                condition=Q(plan__isnull=False) | ~Q(new_plan_title=""),
                violation_error_message="Choose a plan or give the new plan a title.",
            ),
        ]

    @property
    def plan_title(self) -> str:
        return self.plan.title if self.plan is not None else self.new_plan_title
