"""`send_reminders --dry-run` is the real run without sending: the same report, on data where codes repeat across plans.

Also what the dry run says it will not send, and why; and the demo's long-overdue partner.
"""

import datetime
import random
import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from messaging.models import Reminder, ReportLink
from messaging.reminders import partner_contacts, reminders_run_daily
from priorities.models import Action, Status, Submission, UpdateFrequency
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CommissionerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    PlanFactory,
    PriorityFactory,
    SecretariatFactory,
)
from tests.messaging.reminder_clock import Clock
from tracker.models import User

WEDNESDAY = datetime.date(2026, 3, 11)
MONDAY = datetime.date(2026, 3, 16)
CODES = ["5.11", "5.12", "5.13", "5.21", "5.22", "5.23", "5.31"]
# Due dates from 400 days overdue to not due for a while, weighted towards the interesting ones.
DUE_OFFSETS = [-400, -150, -60, -35, -29, -22, -15, -14, -8, -7, -2, -1, 0, 3, 7, 8, 30]


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://tracker.example.org"


def set_due(action, due):
    Action.objects.filter(pk=action.pk).update(next_update_due=due)


def generate(seed, today, clock):
    """Three plans with the same action codes, five organisations (members, a contact email only, nobody),
    actions at every stage, some archived or completed, progress awaiting review, and reminders sent
    (or still waiting) on earlier days."""
    rng = random.Random(seed)
    owner = SecretariatFactory(username="owner", email="owner@example.org")
    SecretariatFactory(username="left", email="left@example.org", is_active=False)
    CommissionerFactory(username="commissioner", email="commissioner@example.org")
    organisations = [OrganisationFactory(name=f"Partner {n}", contact_email="") for n in range(5)]
    members = {}
    for index, count in enumerate([2, 1, 1]):
        organisation = organisations[index]
        members[organisation.pk] = [
            PartnerFactory(
                username=f"p{index}-{k}", email=f"p{index}-{k}@example.org", organisation=organisations[index]
            )
            for k in range(count)
        ]
    PartnerFactory(username="p2-gone", organisation=organisations[2], is_active=False)
    organisations[3].contact_email = "office@partner3.example.org"
    organisations[3].save()
    submitter = PartnerFactory(username="submitter", organisation=organisations[4])
    contacts = partner_contacts(organisation_ids={o.pk for o in organisations})
    for number in range(3):
        plan = PlanFactory(title=f"Strategy {2024 + 3 * number}")
        objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=5), code="5.1")
        for code in CODES:
            action = ActionFactory(
                objective=objective,
                code=code,
                owner=owner if rng.random() < 0.8 else None,
                update_frequency=UpdateFrequency.MONTHLY,
                status=Status.COMPLETED if rng.random() < 0.1 else Status.ON_TRACK,
            )
            due = today + datetime.timedelta(days=rng.choice(DUE_OFFSETS))
            set_due(action, due)
            if rng.random() < 0.12:
                Action.objects.filter(pk=action.pk).update(archived_at=clock.at(today - datetime.timedelta(days=5)))
            partners = rng.sample(organisations, rng.choice([0, 1, 2, 2, 3, 3]))
            for organisation in partners:
                ActionPartnerFactory(action=action, organisation=organisation)
                roll = rng.random()
                if roll < 0.15:
                    Submission.objects.create(
                        action=action, organisation=organisation, submitted_by=submitter, status=Status.ON_TRACK
                    )
                if due >= today or roll > 0.7:
                    continue
                # Reminders already sent about this due date, the last one `since` days ago (or still waiting).
                sent_before = rng.randint(1, 7)
                since = rng.choice([1, 5, 7, 8, 20, 28, 30])
                waiting = rng.random() < 0.15
                for sequence in range(1, sent_before + 1):
                    last = sequence == sent_before
                    day = today - datetime.timedelta(days=since + 28 * (sent_before - sequence))
                    for contact in contacts.get(organisation.pk, []):
                        Reminder.objects.create(
                            recipient_email=contact.email,
                            recipient_user_id=contact.user_id,
                            organisation=organisation,
                            action=action,
                            kind=Reminder.Kind.OVERDUE,
                            cycle=due,
                            sequence=sequence,
                            created_at=clock.at(day),
                            state=Reminder.State.PENDING if last and waiting else Reminder.State.SENT,
                            sent_at=None if last and waiting else clock.at(day, hour=9),
                        )


def snapshot():
    return (
        sorted(Reminder.objects.values_list("pk", "state", "sent_at", "attempts", "claim_token", "message_id")),
        ReportLink.objects.count(),
    )


def command(*args):
    out = StringIO()
    call_command("send_reminders", *args, stdout=out)
    return out.getvalue()


def without_links(text):
    """The dry run's output without the (deliberately invalid) report links the real run does not print."""
    lines, skipping = [], False
    for line in text.splitlines():
        if line.startswith("Links to report without signing in"):
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        lines.append(line)
    return lines


def as_real_run(lines):
    """The dry run's lines in the words of the real run."""
    converted = []
    for line in lines:
        line = line.replace(" (dry run):", ":").replace("Would write ", "Wrote ")
        line = re.sub(
            r"^Would send (\d+) email\(s\) covering (\d+) reminder\(s\) \(nothing was sent or kept\)\.$",
            r"Sent \1 email(s) covering \2 reminder(s); 0 failed; 0 left pending for the next run.",
            line,
        )
        converted.append(line)
    return converted


@pytest.mark.django_db
@pytest.mark.parametrize(("seed", "today"), [(1, WEDNESDAY), (2, MONDAY), (3, WEDNESDAY), (4, MONDAY), (5, WEDNESDAY)])
def test_the_dry_run_reports_exactly_what_the_real_run_sends(monkeypatch, seed, today):
    clock = Clock(monkeypatch, today)
    generate(seed, today, clock)
    before = snapshot()

    dry = reminders_run_daily(today=today, dry_run=True)
    dry_text = command("--dry-run", "--date", today.isoformat())
    assert snapshot() == before and mail.outbox == [], "a dry run keeps nothing and sends nothing"

    real_text = command("--date", today.isoformat())
    emails = {message.to[0]: message for message in mail.outbox}
    assert len(emails) == len(mail.outbox), "one digest per recipient"
    assert dry.recipients, "the generated data owes reminders"
    assert sorted(emails) == sorted(dry.recipients)
    for email, message in emails.items():
        sent_ids = {int(pk) for pk in re.findall(r"/actions/(\d+)/", message.body)}
        said = dry.recipients[email]["actions"]
        # "2 actions" where 3 are sent was the defect: count first, then which ones.
        assert len(said) == len(sent_ids), (email, message.subject, said)
        assert re.search(rf"\b{len(sent_ids)} actions?\b", message.subject)
        assert set(said) == sent_ids
    repeated = [labels for owed in dry.recipients.values() for labels in owed["actions"].values() if "(" in labels]
    assert repeated or seed != 1, "the data has a digest with one code in two plans"
    # The printed report is the same, line for line, but for the words of a dry run and its links.
    assert as_real_run(without_links(dry_text)) == real_text.splitlines()
    # And the real run kept what the dry run only showed.
    assert Reminder.objects.filter(state=Reminder.State.PENDING).count() == 0


@pytest.fixture
def reasons(monkeypatch):
    """One organisation or action for each reason a partner gets no reminder today."""
    today = WEDNESDAY
    clock = Clock(monkeypatch, today)
    owner = SecretariatFactory(email="owner@example.org")
    plan = PlanFactory(title="Strategy 2026")
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=5), code="5.1")
    organisations = {
        name: OrganisationFactory(name=name, contact_email=f"office@{name.lower()}.example.org")
        for name in ("Reviewing", "Reminded", "Waiting", "Sending", "Archived", "Nobody", "Overdue")
    }
    organisations["Nobody"].contact_email = ""
    organisations["Nobody"].save()
    submitter = PartnerFactory(organisation=organisations["Reviewing"], email="member@reviewing.example.org")

    def action(code, days_overdue, *partners):
        made = ActionFactory(objective=objective, code=code, owner=owner, update_frequency=UpdateFrequency.MONTHLY)
        set_due(made, today - datetime.timedelta(days=days_overdue))
        made.refresh_from_db()
        for name in partners:
            ActionPartnerFactory(action=made, organisation=organisations[name])
        return made

    def row(made, name, email, state, days_ago, sequence=1):
        Reminder.objects.create(
            recipient_email=email,
            organisation=organisations[name],
            action=made,
            kind=Reminder.Kind.OVERDUE,
            cycle=made.next_update_due,
            sequence=sequence,
            state=state,
            created_at=clock.at(today - datetime.timedelta(days=days_ago)),
            sent_at=clock.at(today - datetime.timedelta(days=days_ago)) if state == Reminder.State.SENT else None,
            claim_token="another-task" if state == Reminder.State.SENDING else "",
        )

    reviewed = action("5.11", 60, "Reviewing", "Overdue")
    Submission.objects.create(
        action=reviewed, organisation=organisations["Reviewing"], submitted_by=submitter, status=Status.ON_TRACK
    )
    reminded = action("5.12", 100, "Reminded")
    for sequence, days_ago in [(1, 40), (2, 33), (3, 26), (4, 19), (5, 3)]:
        row(reminded, "Reminded", "office@reminded.example.org", Reminder.State.SENT, days_ago, sequence)
    waiting = action("5.13", 30, "Waiting")
    row(waiting, "Waiting", "office@waiting.example.org", Reminder.State.PENDING, 10)
    sending = action("5.14", 30, "Sending")
    row(sending, "Sending", "office@sending.example.org", Reminder.State.SENDING, 0)
    archived = action("5.15", 30, "Archived")
    Action.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    action("5.16", 30, "Nobody")
    action("5.17", 30)
    return today


@pytest.mark.django_db
def test_the_dry_run_says_what_it_will_not_send_and_why(reasons):
    today = reasons
    text = command("--dry-run", "--date", today.isoformat())
    assert "office@overdue.example.org: 1 action (5.11); Overdue" in text
    # The reminder waiting since a worker was down goes out now, and nothing else about that action.
    assert "office@waiting.example.org: 1 action (5.13); Overdue" in text
    assert "Skipped 1 organisation(s) owed a reminder that nobody would receive:" in text
    assert "  Nobody: no contact (no active partner user with an email" in text and "; action 5.16" in text
    assert "Partner reminders not sent today, and why:" in text
    for line in [
        "  Archived: 5.15: archived",
        "  Reminded: 5.12: reminded on Sunday 8 March 2026; next reminder on Sunday 5 April 2026 if still not reported",
        "  Reviewing: 5.11: progress submitted, awaiting review",
        "  Sending: 5.14: a reminder is being sent right now",
        "  5.17: no partner organisation (only its owner is reminded)",
    ]:
        assert line in text.splitlines(), line
    assert "Waiting:" not in text
    # The real run says the same, sends what the dry run listed, and nothing else.
    real = command("--date", today.isoformat())
    assert (
        real.split("Partner reminders not sent today, and why:")[1]
        == text.split("Partner reminders not sent today, and why:")[1]
    )
    assert sorted(m.to[0] for m in mail.outbox) == [
        "office@overdue.example.org",
        "office@waiting.example.org",
        "owner@example.org",
    ]


@pytest.mark.django_db
def test_the_demo_reminds_europol_of_its_long_overdue_actions(plan5):
    """`make run`'s data: Europol has an active user and actions overdue for months; the dry run emails it."""
    call_command("load_demo", force=True, verbosity=0)
    today = timezone.localdate()
    europol = User.objects.get(username="partner-europol")
    overdue = (
        Action.objects.live()
        .filter(partnerships__organisation=europol.organisation, next_update_due__lt=today)
        .exclude(status=Status.COMPLETED)
        .exclude(submissions__organisation=europol.organisation, submissions__state=Submission.State.SUBMITTED)
    )
    long_overdue = [action.code for action in overdue if (today - action.next_update_due).days > 28]
    assert long_overdue, "the demo has actions Europol has not reported on for more than four weeks"
    text = command("--dry-run")
    line = next((line for line in text.splitlines() if line.startswith(f"  {europol.email}: ")), None)
    assert line is not None, text
    for code in long_overdue:
        assert code in line
    assert "Overdue" in line
