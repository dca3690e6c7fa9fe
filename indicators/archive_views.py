"""Archiving, restoring and deleting success indicators (secretariat only), on the plan's confirm page."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from priorities.views.archive import confirm_page, restore
from tracker.permissions import SECRETARIAT, role_required

from .models import IndicatorChange, SuccessIndicator
from .services import indicator_archive, indicator_delete, indicator_references, indicator_restore


@role_required(SECRETARIAT)
def indicator_archive_view(request, pk):
    """Archive an indicator something refers to (values, links, history), or delete one nothing does."""
    indicator = get_object_or_404(SuccessIndicator.objects.select_related("plan", "archived_by"), pk=pk)
    context = {
        "kind": "indicator",
        "item": indicator,
        "what": f"indicator {indicator.code}",
        "title": indicator.statement,
        "back_url": indicator.get_absolute_url(),
        "restore_url": reverse("indicators:indicator-restore", kwargs={"pk": indicator.pk}),
        "hidden_by": None,
        "history": IndicatorChange.objects.filter(indicator=indicator, field="archived").select_related("changed_by")[
            :20
        ],
        "references": indicator_references(indicator=indicator),
    }
    return confirm_page(
        request,
        indicator,
        context=context,
        archive=lambda by: indicator_archive(indicator=indicator, by=by),
        delete=lambda by: indicator_delete(indicator=indicator, by=by),
        done_url=reverse("indicators:indicator-list"),
    )


@require_POST
@role_required(SECRETARIAT)
def indicator_restore_view(request, pk):
    indicator = get_object_or_404(SuccessIndicator, pk=pk)
    return restore(
        request,
        indicator,
        service=lambda by: indicator_restore(indicator=indicator, by=by),
        what=f"indicator {indicator.code}",
        done_url=indicator.get_absolute_url(),
    )
