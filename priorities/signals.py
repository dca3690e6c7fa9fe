"""What happens to the plan, for the domains above it to react to (messaging's emails, for one).

The plan does not know who is told of its events, nor how: its services send these signals inside their
transaction, and an app above connects receivers in its `AppConfig.ready()`. A receiver that writes does
so in the same transaction (an error rolls the event back with it); one that enqueues a task does it with
`transaction.on_commit`. Each signal's arguments are listed with it; `sender` is the model concerned.
"""

from django.dispatch import Signal

# A partner submitted progress on an action for review (sender: Submission).
# submission: the new Submission; via_link_to: the address of the email link it came through, or "";
# via_api_token: the name of the API access token it came through, or "".
progress_submitted = Signal()

# The secretariat accepted or returned a partner's progress (sender: Submission).
# submission: the Submission, its state, decision and return reason saved.
progress_decided = Signal()

# Actions left the live plan: archived, or hidden by their objective's or priority's archiving (sender: Action).
# action_ids: the ids of the actions archived.
actions_archived = Signal()

# A partner's report outside the plan's own progress (an indicator's value) awaits review, or was decided.
# The domain that owns the report describes it, so a receiver needs to know nothing of that domain.
# report_submitted: event (a key unique to the event), action (or None), organisation, submitted_by, what,
#   details (lines), review_path, via_api_token.
# report_decided: event, action (or None), organisation, submitted_by, what, accepted, outcome, reason,
#   answer_path, decided_by.
report_submitted = Signal()
report_decided = Signal()
