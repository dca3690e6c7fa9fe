"""Archiving, restoring and deleting the plan's priorities, objectives and actions (secretariat only).

Each item's confirm page says what pressing the button will do, archive or delete, and why: an item
anything refers to is archived (services.plan_item_references), one nothing refers to is deleted.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tracker.permissions import SECRETARIAT, role_required

from ..models import Action, ActionChange, Objective, Priority
from ..services import (
    action_archive,
    action_restore,
    objective_archive,
    objective_restore,
    plan_item_delete,
    plan_item_references,
    priority_archive,
    priority_restore,
)

ARCHIVED_LIST_LIMIT = 200


class DecisionForm(forms.Form):
    """The decision the confirm page offered: if the item changed since (a new update), it is offered again."""

    decision = forms.ChoiceField(
        choices=[("archive", "Archive"), ("delete", "Delete")],
        widget=forms.HiddenInput,
    )


def offered(references, *, is_archived):
    """What the confirm page offers: "restore" for an archived item, else "archive" or "delete"."""
    if is_archived:
        return "restore"
    return "archive" if references else "delete"


def _offer_again(decision, message):
    form = DecisionForm({"decision": decision})
    form.is_valid()
    form.add_error(None, message)
    return form


def confirm_page(request, item, *, context, archive, delete, done_url):
    """The shared GET/POST of a confirm page (used by indicators too): decide, or say why not.

    `archive(by)` and `delete(by)` call the services; `context` names the item for the template
    (`what`: "action 5.11", `title`, `back_url`, `hides`: what archiving it also hides, `history`).
    """
    references = context.pop("references")
    decision = offered(references, is_archived=context["item"].is_archived)
    form = DecisionForm(request.POST or None, initial={"decision": decision})
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            form = _offer_again(decision, "Check what will happen and confirm again.")
            status = 400
        elif decision == "restore" or form.cleaned_data["decision"] != decision:
            # Something referred to it, or it was archived, after the page was opened: offer again.
            form = _offer_again(
                decision, "This changed since you opened the page: check what will happen and confirm again."
            )
            status = 409
        else:
            try:
                if decision == "archive":
                    archive(request.user)
                    messages.success(request, f"{context['what'].capitalize()} archived. You can restore it here.")
                    return redirect(request.path)
                delete(request.user)
            except ValidationError as error:
                form.add_error(None, error)
                status = 409
            else:
                messages.success(request, f"{context['what'].capitalize()} deleted.")
                return redirect(done_url)
    return render(
        request,
        "priorities/archive/confirm.html",
        {**context, "form": form, "decision": decision, "references": references},
        status=status,
    )


def restore(request, item, *, service, what, done_url):
    """The shared POST of a Restore button."""
    try:
        decision = service(request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if decision is None:
            messages.info(request, f"{what.capitalize()} was not archived: nothing was changed.")
        else:
            messages.success(request, f"{what.capitalize()} restored.")
    return redirect(done_url)


def _action(request, pk):
    return get_object_or_404(
        Action.objects.visible_to(request.user).select_related("objective__priority__plan", "archived_by"), pk=pk
    )


@role_required(SECRETARIAT)
def action_archive_view(request, pk):
    """Archive an action something refers to, or delete one nothing does."""
    action = _action(request, pk)
    context = {
        "kind": "action",
        "item": action,
        "what": f"action {action.code}",
        "title": action.title,
        "back_url": action.get_absolute_url(),
        "restore_url": reverse("priorities:action-restore", kwargs={"pk": action.pk}),
        "hidden_by": action.archived_with if action.archived_with is not action else None,
        "history": ActionChange.objects.filter(action=action, field="archived").select_related("changed_by")[:20],
        "references": plan_item_references(item=action),
    }
    return confirm_page(
        request,
        action,
        context=context,
        archive=lambda by: action_archive(action=action, by=by),
        delete=lambda by: plan_item_delete(item=action, by=by),
        done_url=reverse("priorities:plan"),
    )


@require_POST
@role_required(SECRETARIAT)
def action_restore_view(request, pk):
    action = _action(request, pk)
    return restore(
        request,
        action,
        service=lambda by: action_restore(action=action, by=by),
        what=f"action {action.code}",
        done_url=action.get_absolute_url(),
    )


def _container_context(item, *, what, title, restore_url, actions, hidden_by=None):
    return {
        "kind": "container",
        "item": item,
        "what": what,
        "title": title,
        "back_url": reverse("priorities:plan"),
        "restore_url": restore_url,
        "hidden_by": hidden_by,
        # What archiving it hides with it (counted, not copied: the QuerySets compute it).
        "hides": actions.live().count() if not item.is_archived else None,
        "history": item.archive_decisions.select_related("decided_by")[:20],
        "references": plan_item_references(item=item),
    }


@role_required(SECRETARIAT)
def objective_archive_view(request, pk):
    objective = get_object_or_404(Objective.objects.select_related("priority__plan", "archived_by"), pk=pk)
    context = _container_context(
        objective,
        what=f"objective {objective.code}",
        title=objective.title,
        restore_url=reverse("priorities:objective-restore", kwargs={"pk": objective.pk}),
        actions=Action.objects.filter(objective=objective),
        hidden_by=objective.priority if objective.priority.is_archived else None,
    )
    return confirm_page(
        request,
        objective,
        context=context,
        archive=lambda by: objective_archive(objective=objective, by=by),
        delete=lambda by: plan_item_delete(item=objective, by=by),
        done_url=reverse("priorities:plan"),
    )


@require_POST
@role_required(SECRETARIAT)
def objective_restore_view(request, pk):
    objective = get_object_or_404(Objective, pk=pk)
    return restore(
        request,
        objective,
        service=lambda by: objective_restore(objective=objective, by=by),
        what=f"objective {objective.code}",
        done_url=reverse("priorities:objective-archive", kwargs={"pk": objective.pk}),
    )


@role_required(SECRETARIAT)
def priority_archive_view(request, pk):
    priority = get_object_or_404(Priority.objects.select_related("plan", "archived_by"), pk=pk)
    context = _container_context(
        priority,
        what=f"priority {priority.number}",
        title=priority.title,
        restore_url=reverse("priorities:priority-restore", kwargs={"pk": priority.pk}),
        actions=Action.objects.filter(objective__priority=priority),
    )
    return confirm_page(
        request,
        priority,
        context=context,
        archive=lambda by: priority_archive(priority=priority, by=by),
        delete=lambda by: plan_item_delete(item=priority, by=by),
        done_url=reverse("priorities:plan"),
    )


@require_POST
@role_required(SECRETARIAT)
def priority_restore_view(request, pk):
    priority = get_object_or_404(Priority, pk=pk)
    return restore(
        request,
        priority,
        service=lambda by: priority_restore(priority=priority, by=by),
        what=f"priority {priority.number}",
        done_url=reverse("priorities:priority-archive", kwargs={"pk": priority.pk}),
    )


@require_GET
@role_required(SECRETARIAT)
def archived_items(request):
    """Every archived priority, objective and action (the newest 200 of each), with who archived it and when."""
    priorities = Priority.objects.filter(archived_at__isnull=False).select_related("plan", "archived_by")
    objectives = Objective.objects.filter(archived_at__isnull=False).select_related("priority", "archived_by")
    actions = Action.objects.filter(archived_at__isnull=False).select_related("objective", "archived_by")
    context = {
        "priorities": priorities.order_by("-archived_at", "-pk")[:ARCHIVED_LIST_LIMIT],
        "objectives": objectives.order_by("-archived_at", "-pk")[:ARCHIVED_LIST_LIMIT],
        "actions": actions.order_by("-archived_at", "-pk")[:ARCHIVED_LIST_LIMIT],
        "limit": ARCHIVED_LIST_LIMIT,
    }
    return render(request, "priorities/archive/archived_items.html", context)


def action_banner(action, user):
    """The "Archived" banner's context for an action's pages; None while the action is live."""
    archived = action.archived_with
    if archived is None:
        return None
    can_restore = user.role == SECRETARIAT
    banner = {"archived": archived, "what": "This action", "hidden_by": archived is not action}
    if archived is action:
        url = reverse("priorities:action-restore", kwargs={"pk": action.pk})
        banner["restore_url"] = url if can_restore else ""
        return banner
    if archived is action.objective:
        banner["hidden_by_label"] = f"objective {archived.code}"
        url = reverse("priorities:objective-archive", kwargs={"pk": archived.pk})
    else:
        banner["hidden_by_label"] = f"priority {archived.number}"
        url = reverse("priorities:priority-archive", kwargs={"pk": archived.pk})
    banner["manage_url"] = url if can_restore else ""
    return banner
