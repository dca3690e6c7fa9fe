"""Messaging's answers to the plan's events (priorities/signals.py), connected in MessagingConfig.ready().

Each runs inside the transaction that made the event: the rows it writes stand or fall with it, and the
emails go out once it commits (the services here queue their tasks with transaction.on_commit).
"""

from typing import Any

from priorities.models import Action, Submission
from priorities.signals import (
    actions_archived,
    progress_decided,
    progress_submitted,
    report_decided,
    report_submitted,
)

from .notifications import (
    notify_progress_decided,
    notify_progress_submitted,
    notify_report_decided,
    notify_report_submitted,
)
from .reminders import reminders_skip_archived_actions


def on_progress_submitted(
    sender: type, *, submission: Submission, via_link_to: str = "", via_api_token: str = "", **kwargs: Any
) -> None:
    notify_progress_submitted(submission=submission, via_link_to=via_link_to, via_api_token=via_api_token)


def on_progress_decided(sender: type, *, submission: Submission, **kwargs: Any) -> None:
    notify_progress_decided(submission=submission)


def on_report_submitted(sender: type, **report: Any) -> None:
    report.pop("signal", None)
    notify_report_submitted(**report)


def on_report_decided(sender: type, **report: Any) -> None:
    report.pop("signal", None)
    notify_report_decided(**report)


def on_actions_archived(sender: type, *, action_ids: list[int], **kwargs: Any) -> None:
    reminders_skip_archived_actions(action_ids=action_ids)


def connect() -> None:
    """Listen to the plan's events (called once, from MessagingConfig.ready())."""
    progress_submitted.connect(on_progress_submitted, sender=Submission, dispatch_uid="messaging-progress-submitted")
    progress_decided.connect(on_progress_decided, sender=Submission, dispatch_uid="messaging-progress-decided")
    # Any domain's report (an indicator's value): the sender is that domain's model, unknown here.
    report_submitted.connect(on_report_submitted, dispatch_uid="messaging-report-submitted")
    report_decided.connect(on_report_decided, dispatch_uid="messaging-report-decided")
    actions_archived.connect(on_actions_archived, sender=Action, dispatch_uid="messaging-actions-archived")
