"""The plan's part of a person's data (tracker.personal_data): what they recorded, decided, were sent or own."""

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from tracker.personal_data import display_name, register_anonymiser, register_export

from .models import (
    Action,
    ActionChange,
    ArchiveDecision,
    Notification,
    NotificationPreference,
    Objective,
    PlanChange,
    PlanChoice,
    PlanPublication,
    Priority,
    ProgressUpdate,
    Reminder,
    ReportLink,
    Submission,
)

UNSENT = (Reminder.State.PENDING,)


def _name(user):
    return display_name(user) if user is not None else ""


def _address(person):
    return (person.email or "").strip().lower()


def _sent_to(person):
    """Outbox rows addressed to them: by account, or by their address (an organisation's contact email)."""
    address = _address(person)
    return Q(recipient_user=person) | (Q(recipient_email__iexact=address) if address else Q(pk__in=[]))


def _actions_owned(person):
    for action in Action.objects.filter(owner=person).select_related("objective__priority__plan").order_by("sort_key"):
        yield {
            "plan": action.objective.priority.plan.title,
            "action": action.code,
            "title": action.title,
            "status": action.get_status_display(),
            "archived": action.archived_at is not None,
        }


def _progress_updates(person):
    updates = ProgressUpdate.objects.filter(Q(author=person) | Q(accepted_by=person)).select_related(
        "action", "organisation", "author", "accepted_by"
    )
    for update in updates.order_by("created_at", "pk"):
        yield {
            "their_part": "recorded" if update.author_id == person.pk else "accepted",
            "action": update.action.code,
            "at": update.created_at,
            "status": update.get_status_display(),
            "previous_status": update.get_previous_status_display() if update.previous_status else "",
            "note": update.note,
            "evidence_link": update.evidence_url,
            "organisation": update.organisation.name if update.organisation else "",
            "recorded_by": _name(update.author),
            "accepted_by": _name(update.accepted_by),
            "public": update.is_public,
        }


def _submissions(person):
    submissions = Submission.objects.filter(Q(submitted_by=person) | Q(decided_by=person)).select_related(
        "action", "organisation", "submitted_by", "decided_by"
    )
    for submission in submissions.order_by("submitted_at", "pk"):
        yield {
            "their_part": "submitted" if submission.submitted_by_id == person.pk else "decided",
            "action": submission.action.code,
            "submitted_at": submission.submitted_at,
            "organisation": submission.organisation.name,
            "submitted_by": _name(submission.submitted_by),
            "proposed_status": submission.get_status_display(),
            "note": submission.note,
            "evidence_link": submission.evidence_url,
            "state": submission.get_state_display(),
            "decided_by": _name(submission.decided_by),
            "decided_at": submission.decided_at,
            "return_reason": submission.return_reason,
        }


def _changes(person):
    for change in ActionChange.objects.filter(changed_by=person).select_related("action").order_by("changed_at", "pk"):
        yield {
            "item": f"Action {change.action.code}",
            "at": change.changed_at,
            "field": change.field_label,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "via": change.via,
        }
    for change in PlanChange.objects.filter(changed_by=person).order_by("changed_at", "pk"):
        yield {
            "item": f"{change.get_item_kind_display()} {change.item_label}",
            "at": change.changed_at,
            "field": change.field_label,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "via": change.via,
        }


def _decisions(person):
    for publication in PlanPublication.objects.filter(decided_by=person).select_related("plan"):
        yield {
            "at": publication.decided_at,
            "decision": "published" if publication.published else "unpublished",
            "item": f"Plan {publication.plan}",
        }
    for decision in ArchiveDecision.objects.filter(decided_by=person).select_related("priority", "objective"):
        item = decision.item
        kind = "Priority" if decision.priority_id else "Objective"
        yield {
            "at": decision.decided_at,
            "decision": "archived" if decision.archived else "restored",
            "item": f"{kind} {getattr(item, 'code', None) or getattr(item, 'number', '')} {item.title}",
        }
    for model, kind in ((Priority, "Priority"), (Objective, "Objective"), (Action, "Action")):
        for item in model.objects.filter(archived_by=person):
            label = getattr(item, "code", None) or getattr(item, "number", "")
            yield {"at": item.archived_at, "decision": "archived (still)", "item": f"{kind} {label} {item.title}"}


def _reminders(person):
    reminders = Reminder.objects.filter(_sent_to(person) | Q(requested_by=person)).select_related("action")
    for reminder in reminders.order_by("created_at", "pk"):
        yield {
            "their_part": "asked for it" if reminder.requested_by_id == person.pk else "sent to them",
            "kind": reminder.get_kind_display(),
            "action": reminder.action.code,
            "due": reminder.cycle,
            "to": reminder.recipient_email,
            "state": reminder.get_state_display(),
            "written_at": reminder.created_at,
            "sent_at": reminder.sent_at,
            "message_id": reminder.message_id,
        }


def _notifications(person):
    notifications = Notification.objects.filter(_sent_to(person)).select_related("action")
    for notification in notifications.order_by("created_at", "pk"):
        yield {
            "kind": notification.get_kind_display(),
            "delivery": notification.get_delivery_display(),
            "to": notification.recipient_email,
            "subject": notification.subject,
            "text": notification.text,
            "link": notification.link_url,
            "action": notification.action.code if notification.action_id else "",
            "state": notification.get_state_display(),
            "written_at": notification.created_at,
            "sent_at": notification.sent_at,
            "message_id": notification.message_id,
        }


def _report_links(person):
    links = ReportLink.objects.filter(recipient_user=person).select_related("action", "organisation")
    for link in links.order_by("created_at", "pk"):
        yield {
            "action": link.action.code,
            "to": link.recipient_email,
            "organisation": link.organisation.name,
            "origin": link.get_origin_display(),
            "made_at": link.created_at,
            "expires_at": link.expires_at,
            "used_at": link.used_at,
        }


def _choices(person):
    for preference in NotificationPreference.objects.filter(user=person).order_by("kind"):
        yield {"choice": preference.get_kind_display(), "value": preference.get_delivery_display(), "since": None}
    choice = PlanChoice.objects.filter(user=person).select_related("plan").first()
    if choice is not None:
        yield {"choice": "The plan they last chose", "value": choice.plan.title, "since": choice.chosen_at}


def _anonymise(person, pseudonym):
    """Emails not yet sent to them removed; the outbox, report links and owner changes name "Former user N"."""
    address = _address(person)
    changed = {
        "reminders not yet sent removed": Reminder.objects.filter(_sent_to(person), state__in=UNSENT).delete()[0],
        "notifications not yet sent removed": Notification.objects.filter(
            _sent_to(person), state=Notification.State.PENDING
        ).delete()[0],
    }
    readdressed = 0
    if address:
        readdressed += Reminder.objects.filter(recipient_email__iexact=address).update(
            recipient_email=pseudonym.address
        )
        readdressed += Notification.objects.filter(recipient_email__iexact=address).update(
            recipient_email=pseudonym.address
        )
    changed["outbox rows readdressed"] = readdressed
    changed["outbox texts renamed"] = pseudonym.replace_in(
        Notification.objects.all(), "key", "subject", "text", "link_url", "last_error"
    ) + pseudonym.replace_in(Reminder.objects.all(), "last_error")
    # A link is a way in: whatever its state, it stops working; the row (and a report made through it) stays.
    changed["report links voided"] = ReportLink.objects.filter(recipient_user=person).update(
        recipient_email=pseudonym.address, nonce=Concat(Value("anonymised:"), Cast("pk", CharField()))
    )
    # An owner change records the owner's name as it read then.
    renamed = 0
    for side in ("old_value", "new_value"):
        renamed += ActionChange.objects.filter(field="owner", **{f"{side}__iexact": pseudonym.old_name}).update(
            **{side: pseudonym.name}
        )
    changed["owner changes renamed"] = renamed
    return changed


def register():
    """The plan's parts (called from PrioritiesConfig.ready())."""
    register_export(name="actions_owned", title="Actions they own", models=["priorities.Action"], rows=_actions_owned)
    register_export(
        name="progress_updates",
        title="Progress updates they recorded or accepted",
        models=["priorities.ProgressUpdate"],
        rows=_progress_updates,
    )
    register_export(
        name="submissions",
        title="Progress they submitted, and submissions they decided",
        models=["priorities.Submission"],
        rows=_submissions,
    )
    register_export(
        name="plan_changes",
        title="Changes they made to actions and to the plan's outline",
        models=["priorities.ActionChange", "priorities.PlanChange"],
        rows=_changes,
    )
    register_export(
        name="plan_decisions",
        title="Plans they published or unpublished, items they archived or restored",
        models=[
            "priorities.PlanPublication",
            "priorities.ArchiveDecision",
            "priorities.Priority",
            "priorities.Objective",
        ],
        rows=_decisions,
    )
    register_export(
        name="reminders",
        title="Reminders sent to them or asked for by them",
        models=["priorities.Reminder"],
        rows=_reminders,
    )
    register_export(
        name="notifications",
        title="Notifications sent to them",
        models=["priorities.Notification"],
        rows=_notifications,
    )
    register_export(
        name="report_links",
        title="Links to report progress sent to them",
        models=["priorities.ReportLink"],
        rows=_report_links,
    )
    register_export(
        name="choices",
        title="Their email choices and the plan they last chose",
        models=["priorities.NotificationPreference", "priorities.PlanChoice"],
        rows=_choices,
    )
    register_anonymiser(
        name="the plan's outbox and histories",
        models=["priorities.Reminder", "priorities.Notification", "priorities.ReportLink", "priorities.ActionChange"],
        anonymise=_anonymise,
    )
