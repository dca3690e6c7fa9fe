"""Fill a database with a large, realistic-looking plan for load tests and benchmarks.

Everything it makes is recognisable as generated: plans are titled "Load test plan N", organisations
"Load test organisation N", usernames start with "load-", and every progress update has is_demo=True.
Rows are written with bulk_create in batches, bypassing the services on purpose; the columns the
services keep (status, last_update, next_update_due, version, sort_key, each partnership's last report and
the status counts per objective) are computed here the same way.
"""

import datetime
import random
import time
from collections import Counter

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from priorities.counts import objective_status_recount
from priorities.models import (
    Action,
    ActionChange,
    ActionPartner,
    Objective,
    Plan,
    Priority,
    ProgressUpdate,
    Status,
    Submission,
    UpdateFrequency,
    code_sort_key,
)
from priorities.scheduling import add_months, next_due_date
from tracker.caching import choices_changed, data_changed
from tracker.models import Organisation, User

PLAN_TITLE = "Load test plan {}"
PLAN_SLUG_PREFIX = "load-test-plan-"
VIA = "load_test"
HISTORY_YEARS = 3
PRIORITIES_PER_PLAN = 5
OBJECTIVES_PER_PRIORITY = 4

# Markov chain of an action's status from one update to the next; COMPLETED is only ever a last update.
TRANSITIONS = {
    Status.NOT_STARTED: [(Status.NOT_STARTED, 3), (Status.ON_TRACK, 6), (Status.AT_RISK, 1)],
    Status.ON_TRACK: [(Status.ON_TRACK, 85), (Status.AT_RISK, 12), (Status.OFF_TRACK, 3)],
    Status.AT_RISK: [(Status.ON_TRACK, 35), (Status.AT_RISK, 50), (Status.OFF_TRACK, 15)],
    Status.OFF_TRACK: [(Status.AT_RISK, 30), (Status.OFF_TRACK, 60), (Status.ON_TRACK, 10)],
}
FREQUENCIES = [
    UpdateFrequency.MONTHLY,
    UpdateFrequency.QUARTERLY,
    UpdateFrequency.QUARTERLY,
    UpdateFrequency.QUARTERLY,
    UpdateFrequency.SIX_MONTHLY,
    UpdateFrequency.ANNUALLY,
]
NOTES = [
    "Load test: meeting held with partners, next steps agreed.",
    "Load test: funding confirmed for the next phase.",
    "Load test: delayed while a data sharing agreement is signed.",
    "Load test: training delivered to frontline staff.",
    "Load test: report drafted and circulated for comment.",
    "Load test: waiting for the partner's response.",
]


def _weighted(choices, rng):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


class Command(BaseCommand):
    help = "Generate a large plan with partners, users and years of history for load tests (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--actions", type=int, default=10_000)
        parser.add_argument("--updates", type=int, default=200_000, help="Progress updates in all.")
        parser.add_argument("--organisations", type=int, default=300)
        parser.add_argument("--users", type=int, default=1_000, help="Users in all: a few staff, the rest partners.")
        parser.add_argument("--plans", type=int, default=4)
        parser.add_argument("--seed", type=int, default=1, help="The same seed makes the same data.")
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument("--password", default="load-test-password", help="The password of every generated user.")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing to generate load data with DEBUG off: pass --force if you really mean it.")
        for name in ("actions", "organisations", "plans"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if options["updates"] < 0:
            raise CommandError("--updates cannot be negative.")
        if options["users"] < 3:
            raise CommandError("--users must be at least 3 (secretariat, commissioner and a partner).")
        if Plan.objects.filter(slug__startswith=PLAN_SLUG_PREFIX).exists():
            raise CommandError("This database already holds load test data: generate into an empty database.")
        self.rng = random.Random(options["seed"])
        self.batch_size = options["batch_size"]
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        started = time.monotonic()
        with transaction.atomic():
            plans, objectives = self._plans(options["plans"], options["actions"])
            organisations = self._organisations(options["organisations"])
            staff, partners_by_org = self._users(options["users"], organisations, options["password"])
            counts = self._actions_and_history(options, objectives, organisations, staff, partners_by_org)
            # What the services keep as they record reports and statuses, in two statements for the lot.
            ActionPartner.objects.filter(action__objective__in=objectives).refresh_last_reported()
            objective_status_recount(objective_ids=[objective.pk for objective in objectives])
            data_changed()  # bulk writes send no signals: cached pages must not outlive them
            choices_changed()  # nor the filter form's choice lists (organisations, people, objectives)
        if connection.vendor == "postgresql":
            # Fresh statistics, so the planner sees the tables as they now are.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {len(plans)} plans, {len(objectives)} objectives, {counts['actions']} actions, "
                f"{counts['updates']} updates, {counts['partners']} action partners, {counts['changes']} changes, "
                f"{counts['submissions']} submissions, {len(organisations)} organisations and "
                f"{options['users']} users in {seconds:.1f} s."
            )
        )

    # --- structure ------------------------------------------------------------------------------

    def _plans(self, n_plans, n_actions):
        start = add_months(self.today.replace(day=1), -12 * HISTORY_YEARS)
        plans = Plan.objects.bulk_create(
            Plan(
                title=PLAN_TITLE.format(i),
                slug=f"{PLAN_SLUG_PREFIX}{i}",
                organisation_name="Load test office",
                start_date=start,
                end_date=add_months(start, 12 * 5),
            )
            for i in range(1, n_plans + 1)
        )
        priorities = Priority.objects.bulk_create(
            Priority(plan=plan, number=number, title=f"Load test priority {number} of {plan.title}")
            for plan in plans
            for number in range(1, PRIORITIES_PER_PLAN + 1)
        )
        # Never more objectives than actions, so that every objective has at least one.
        n_objectives = min(len(priorities) * OBJECTIVES_PER_PRIORITY, n_actions)
        objectives = []
        for index in range(n_objectives):
            priority = priorities[index % len(priorities)]
            number = index // len(priorities) + 1
            code = f"{priority.number}.{number}"
            objectives.append(
                Objective(
                    priority=priority, code=code, sort_key=code_sort_key(code), title=f"Load test objective {code}"
                )
            )
        objectives = Objective.objects.bulk_create(objectives)
        return plans, objectives

    def _organisations(self, n):
        kinds = [kind for kind, _ in Organisation.Kind.choices]
        return Organisation.objects.bulk_create(
            (
                Organisation(
                    name=f"Load test organisation {i}",
                    short_name=f"LTO {i}",
                    slug=f"load-test-organisation-{i}",
                    kind=kinds[i % len(kinds)],
                    contact_email=f"org{i}@load-test.invalid",
                )
                for i in range(1, n + 1)
            ),
            batch_size=self.batch_size,
        )

    def _users(self, n, organisations, password):
        # One hash for everyone: hashing a thousand passwords would take minutes.
        hashed = make_password(password)
        n_secretariat = max(1, n // 200)
        n_commissioner = max(1, n // 500)
        users = []
        for i in range(1, n_secretariat + 1):
            users.append(self._user(f"load-secretariat-{i}", User.Role.SECRETARIAT, None, hashed, is_staff=True))
        for i in range(1, n_commissioner + 1):
            users.append(self._user(f"load-commissioner-{i}", User.Role.COMMISSIONER, None, hashed))
        weights = self._skewed_weights(len(organisations))
        for i in range(1, n - n_secretariat - n_commissioner + 1):
            # Every organisation gets a user first; then big organisations get more.
            if i <= len(organisations):
                organisation = organisations[i - 1]
            else:
                organisation = self.rng.choices(organisations, weights)[0]
            users.append(self._user(f"load-partner-{i}", User.Role.PARTNER, organisation, hashed))
        users = User.objects.bulk_create(users, batch_size=self.batch_size)
        staff = {
            "secretariat": [u for u in users if u.role == User.Role.SECRETARIAT],
            "commissioner": [u for u in users if u.role == User.Role.COMMISSIONER],
        }
        partners_by_org: dict[int | None, list[User]] = {}
        for user in users:
            if user.role == User.Role.PARTNER:
                partners_by_org.setdefault(user.organisation_id, []).append(user)
        return staff, partners_by_org

    @staticmethod
    def _user(username, role, organisation, hashed, is_staff=False):
        return User(
            username=username,
            email=f"{username}@load-test.invalid",
            first_name=username.split("-")[1].capitalize(),
            last_name=f"{username.rsplit('-', 1)[1]} (load test)",
            role=role,
            organisation=organisation,
            password=hashed,
            is_staff=is_staff,
        )

    @staticmethod
    def _skewed_weights(n):
        """Zipf-like: the first organisations partner far more actions than the rest."""
        return [1 / (rank**1.1) for rank in range(1, n + 1)]

    # --- actions and their history --------------------------------------------------------------

    def _actions_and_history(self, options, objectives, organisations, staff, partners_by_org):
        rng = self.rng
        n_actions, n_updates = options["actions"], options["updates"]
        # How many updates each action has: skewed, some have none.
        activity = [rng.expovariate(1.0) if rng.random() > 0.05 else 0.0 for _ in range(n_actions)]
        if not any(activity):
            activity[0] = 1.0
        per_action = Counter(rng.choices(range(n_actions), activity, k=n_updates))
        org_weights = self._skewed_weights(len(organisations))
        secretariat = staff["secretariat"]
        counts: Counter[str] = Counter()
        for chunk_start in range(0, n_actions, 1_000):
            chunk = range(chunk_start, min(chunk_start + 1_000, n_actions))
            plans = [self._plan_action(i, objectives, organisations, org_weights, secretariat) for i in chunk]
            histories = [self._history(plan, per_action[i]) for plan, i in zip(plans, chunk, strict=True)]
            for plan, history in zip(plans, histories, strict=True):
                self._settle(plan, history)
            actions = Action.objects.bulk_create([p["action"] for p in plans], batch_size=self.batch_size)
            partnerships = [
                ActionPartner(
                    action=action,
                    organisation=org,
                    role=ActionPartner.Role.LEAD if n == 0 else ActionPartner.Role.SUPPORTING,
                )
                for action, p in zip(actions, plans, strict=True)
                for n, org in enumerate(p["partners"])
            ]
            ActionPartner.objects.bulk_create(partnerships, batch_size=self.batch_size)
            updates, changes, submissions = self._rows(actions, plans, histories, secretariat, partners_by_org)
            # The newest update of each action is its last_update (updates are created oldest first).
            newest = {update.action_id: update for update in updates}
            for action in actions:
                action.last_update = newest.get(action.pk)
            Action.objects.bulk_update([a for a in actions if a.last_update], ["last_update"], batch_size=500)
            counts["actions"] += len(actions)
            counts["partners"] += len(partnerships)
            counts["updates"] += len(updates)
            counts["changes"] += len(changes)
            counts["submissions"] += len(submissions)
            self.stdout.write(f"  {counts['actions']} actions, {counts['updates']} updates ...")
        return counts

    def _plan_action(self, index, objectives, organisations, org_weights, secretariat):
        rng = self.rng
        objective = objectives[index % len(objectives)]
        code = f"{objective.code}.{index // len(objectives) + 1}"
        plan = objective.priority.plan  # both built above: no query
        start_date = plan.start_date + datetime.timedelta(days=rng.randrange(0, 180))
        partners: list[Organisation] = []
        wanted = min(len(organisations), 1 + int(rng.expovariate(0.6)))
        while len(partners) < wanted:
            org = rng.choices(organisations, org_weights)[0]
            if org not in partners:
                partners.append(org)
        action = Action(
            objective=objective,
            code=code,
            sort_key=code_sort_key(code),
            title=f"Load test action {code}",
            description=f"Load test action {index + 1}: generated by generate_load_data, not a real commitment.",
            owner=rng.choice(secretariat),
            start_date=start_date,
            target_date=plan.end_date - datetime.timedelta(days=rng.randrange(0, 365)),
            update_frequency=rng.choice(FREQUENCIES),
        )
        return {"action": action, "plan": plan, "partners": partners}

    def _history(self, plan, n):
        """[(created_at, status, previous_status, by_partner)], oldest first."""
        if n == 0:
            return []
        rng = self.rng
        action = plan["action"]
        first = timezone.make_aware(datetime.datetime.combine(action.start_date, datetime.time(9)))
        span = (self.now - first).total_seconds()
        times = sorted(first + datetime.timedelta(seconds=rng.uniform(0, span)) for _ in range(n))
        # Most actions are reported on within their cycle: move the newest update into it.
        if rng.random() < 0.85:
            cycle_days = 30 * action.update_frequency * 0.9
            recent = self.now - datetime.timedelta(days=rng.uniform(0, cycle_days))
            if len(times) == 1 or recent > times[-2]:
                times[-1] = recent
        history = []
        status = Status.NOT_STARTED
        for position, at in enumerate(times):
            previous = status
            is_last = position == n - 1
            status = Status.COMPLETED if is_last and rng.random() < 0.1 else _weighted(TRANSITIONS[previous], rng)
            history.append((at, status, previous, rng.random() < 0.2))
        return history

    def _settle(self, plan, history):
        """What the services would have left on the action after this history."""
        action = plan["action"]
        action.version = 1 + len(history)
        last_at = history[-1][0] if history else None
        action.status = history[-1][1] if history else Status.NOT_STARTED
        action.next_update_due = next_due_date(
            frequency_months=action.update_frequency,
            last_update_on=timezone.localdate(last_at) if last_at else None,
            action_start=action.start_date,
            plan_start=plan["plan"].start_date,
        )

    def _rows(self, actions, plans, histories, secretariat, partners_by_org):
        rng = self.rng
        updates, changes, pending = [], [], []
        for action, plan, history in zip(actions, plans, histories, strict=True):
            changes.append(
                ActionChange(
                    action=action,
                    field="created",
                    new_value=str(action),
                    changed_by=action.owner,
                    changed_at=timezone.make_aware(datetime.datetime.combine(action.start_date, datetime.time(8))),
                    via=VIA,
                    action_version=1,
                )
            )
            reporters = [(org, partners_by_org[org.pk]) for org in plan["partners"] if org.pk in partners_by_org]
            for position, (at, status, previous, by_partner) in enumerate(history):
                version = position + 2
                author, organisation, accepted_by = rng.choice(secretariat), None, None
                if by_partner and reporters:
                    organisation, people = rng.choice(reporters)
                    accepted_by, author = author, rng.choice(people)
                updates.append(
                    ProgressUpdate(
                        action=action,
                        status=status,
                        previous_status=previous,
                        note=rng.choice(NOTES),
                        author=author,
                        organisation=organisation,
                        accepted_by=accepted_by,
                        created_at=at,
                        action_version=version,
                        is_demo=True,
                    )
                )
                if status != previous:
                    changes.append(
                        ActionChange(
                            action=action,
                            field="status",
                            old_value=Status(previous).label,
                            new_value=Status(status).label,
                            changed_by=accepted_by or author,
                            changed_at=at,
                            via=VIA,
                            action_version=version,
                        )
                    )
            # About one action in fifty has a submission waiting for review.
            if reporters and rng.random() < 0.02:
                organisation, people = rng.choice(reporters)
                pending.append(
                    Submission(
                        action=action,
                        organisation=organisation,
                        submitted_by=rng.choice(people),
                        submitted_at=self.now - datetime.timedelta(days=rng.uniform(0, 20)),
                        status=rng.choice([Status.ON_TRACK, Status.AT_RISK]),
                        note="Load test: progress submitted for review.",
                    )
                )
        updates = ProgressUpdate.objects.bulk_create(updates, batch_size=self.batch_size)
        # Every update a partner reported came in as a submission the secretariat accepted.
        accepted = [
            Submission(
                action=update.action,
                organisation=update.organisation,
                submitted_by=update.author,
                submitted_at=update.created_at - datetime.timedelta(hours=rng.uniform(1, 72)),
                status=update.status,
                note=update.note,
                state=Submission.State.ACCEPTED,
                decided_by=update.accepted_by,
                decided_at=update.created_at,
                progress_update=update,
            )
            for update in updates
            if update.organisation_id
        ]
        ActionChange.objects.bulk_create(changes, batch_size=self.batch_size)
        submissions = Submission.objects.bulk_create(accepted + pending, batch_size=self.batch_size)
        return updates, changes, submissions
