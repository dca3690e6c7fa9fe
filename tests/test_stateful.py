"""The whole tracker, tested as a whole (issue 22): random sequences of what people do, checked after each step.

A Hypothesis state machine (`PlanTrackerMachine`) builds two plans with three partner organisations,
then drives what people do, through the views (signed in with the Django test client as the person
who does it) or the services where the product has no view for it: the secretariat records updates,
partners submit progress, the secretariat accepts and returns it, archives and restores actions,
objectives and priorities, imports rows, starts the next plan, publishes and unpublishes, deactivates
and reactivates partner users; days pass (a simulated clock: `time_machine` moves `timezone.now()` and
`timezone.localdate()` together) so actions fall due and overdue; the daily reminders job runs (dry run,
then for real). After every step each page is loaded by the people who use it and compared with an
oracle computed straight from the rows (`Snapshot`), never through the pages' own QuerySets
(`visible_to`, `for_register`, `live`, `overdue` ...).

Each invariant is a named check (`CHECKS`). The checks of the defects the issue lists and other
branches fix are switched off here by KNOWN_DEFECTS (run with STATEFUL_ALL_CHECKS=1 to see them fail,
or STATEFUL_CHECKS=name,name for some of them: alone, each shrinks to its own example sooner); the
lead empties the set once the fixes are merged.

Longer runs: STATEFUL_EXAMPLES=200 STATEFUL_STEPS=40 .venv/bin/pytest tests/test_stateful.py -p no:randomly.
A failing example is shrunk and kept in `.hypothesis/examples` (at the repository's root, git-ignored),
and replayed first on the next run.
"""

import csv
import dataclasses
import datetime
import io
import json
import os
import re
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import time_machine
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, Verbosity
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.extra.django import TransactionTestCase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from messaging.models import Reminder
from plan_imports import services as plan_import_services
from priorities import services
from priorities.models import Action, ActionPartner, Objective, Plan, PlanChoice, Priority, ProgressUpdate, Submission
from tracker import caching
from tracker.models import Organisation, User

# The defects of issue 22 that other branches fix: their checks are off on this branch. Empty this set
# once the fixes are merged (each entry is the item; CHECKS names which check it switches off).
D1 = "22.1 a colleague's change is invisible on the first load"
D2 = "22.2 partners are never reminded of actions more than four weeks overdue"
D3 = "22.3 --dry-run and the real run disagree when action codes repeat across plans"
D4 = "22.4 organisation page mixes plans"
D5 = "22.5 progress report no longer lists the actions"
D6 = "22.6 /plan/ ignores ?plan="
D7 = "22.7 deactivating a person cannot be undone in the product"
D10 = "22.10 starting the next plan switches the secretariat's default view"
# Found by this test, not in the list (see the report on branch `stateful`):
N1 = "new: the register's CSV says Overdue where the register says Submitted, awaiting review"
KNOWN_DEFECTS: set[str] = set()

# Every invariant, by name: the issue item whose fix it needs (None: it holds on main already).
CHECKS = {
    "register_matches_oracle": None,
    "register_csv_matches_oracle": None,
    "register_csv_overdue_column_as_on_the_register": N1,
    "dashboard_matches_oracle": None,
    "organisation_page_matches_oracle": D4,
    "partner_home_matches_oracle": None,
    "progress_report_summary_matches_oracle": None,
    "progress_report_lists_actions": D5,
    "public_json_matches_oracle": None,
    "partner_sees_only_their_organisation": None,
    "fresh_for_the_writer": None,
    "fresh_for_a_second_person": D1,
    "overdue_reminded_until_reported": D2,
    "reminded_once_a_day": None,
    "dry_run_writes_nothing": None,
    "dry_run_matches_real_run": D3,
    "plan_page_shows_the_chosen_plan": D6,
    "reactivation_offered": D7,
    "next_plan_is_not_the_default_before_it_starts": D10,
}
ALL_CHECKS = os.environ.get("STATEFUL_ALL_CHECKS") == "1"
# Or some of them, by name (comma separated): each shrinks to its own example faster alone.
CHECKS_ON = set(filter(None, os.environ.get("STATEFUL_CHECKS", "").split(",")))

MAX_EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "12"))
# Fixed, so a failing example replays on any machine and at any time of day.
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / ".hypothesis" / "examples"
LONDON = ZoneInfo("Europe/London")
START = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)  # a Monday morning
# The longest a partner waits between two reminders about an action that stays overdue: the README's
# cadence after the first weekly ones must fit in it (issue 22.2: "until it reports").
REMINDER_GAP_DAYS = 31
STATUS_LABELS = {
    "not_started": "Not started",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "completed": "Completed",
}
STATUSES = list(STATUS_LABELS)
ORGANISATIONS = [("Alpha Agency", "alpha"), ("Beta Bureau", "beta"), ("Gamma Group", "gamma")]
AWAITING = "Submitted, awaiting review"


class InvariantBroken(AssertionError):
    """A named check failed (each check raises its own subclass, so Hypothesis shrinks and reports each)."""


_EXCEPTIONS = {}


def broken(name, message):
    if name not in _EXCEPTIONS:
        _EXCEPTIONS[name] = type(name, (InvariantBroken,), {})
    return _EXCEPTIONS[name](f"{name}: {message}")


def add_months(day, months):
    """The same day `months` later (clamped to the month's end): the oracle's own calendar arithmetic."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


# ---------------------------------------------------------------------------------------------------
# The oracle: every expectation computed in Python from plain rows.
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class OAction:
    pk: int
    code: str
    title: str
    description: str
    plan_id: int
    objective_id: int
    priority_id: int
    status: str
    due: datetime.date | None
    frequency: int | None
    owner_id: int | None
    live: bool
    partners: dict  # organisation id -> role
    pending_from: set  # organisations whose submission awaits review
    last_report: dict  # organisation id -> when it last reported (submission or its update)

    def overdue(self, today):
        return self.status != "completed" and self.due is not None and self.due < today


class Snapshot:
    """The plain rows, read once per check; every page's expectation is computed from them."""

    def __init__(self, today):
        self.today = today
        self.plans = {p.pk: p for p in Plan.objects.all()}
        priorities = dict(Priority.objects.values_list("pk", "archived_at"))
        priority_plan = dict(Priority.objects.values_list("pk", "plan_id"))
        objectives = {pk: (pr, at) for pk, pr, at in Objective.objects.values_list("pk", "priority_id", "archived_at")}
        partners = defaultdict(dict)
        for action_id, org_id, role in ActionPartner.objects.values_list("action_id", "organisation_id", "role"):
            partners[action_id][org_id] = role
        pending, last = defaultdict(set), defaultdict(dict)
        self.submissions = list(
            Submission.objects.values(
                "pk", "action_id", "organisation_id", "state", "submitted_at", "note", "return_reason"
            )
        )
        for s in self.submissions:
            if s["state"] == "submitted":
                pending[s["action_id"]].add(s["organisation_id"])
            when = last[s["action_id"]].get(s["organisation_id"])
            last[s["action_id"]][s["organisation_id"]] = max(filter(None, [when, s["submitted_at"]]))
        self.updates = list(
            ProgressUpdate.objects.values("pk", "action_id", "organisation_id", "created_at", "is_public", "note")
        )
        for u in self.updates:
            if u["organisation_id"]:
                when = last[u["action_id"]].get(u["organisation_id"])
                last[u["action_id"]][u["organisation_id"]] = max(filter(None, [when, u["created_at"]]))
        self.actions = {}
        for row in Action.objects.values(
            "pk",
            "code",
            "title",
            "description",
            "objective_id",
            "status",
            "next_update_due",
            "update_frequency",
            "owner_id",
            "archived_at",
        ):
            priority_id, objective_archived = objectives[row["objective_id"]]
            self.actions[row["pk"]] = OAction(
                pk=row["pk"],
                code=row["code"],
                title=row["title"],
                description=row["description"],
                plan_id=priority_plan[priority_id],
                objective_id=row["objective_id"],
                priority_id=priority_id,
                status=row["status"],
                due=row["next_update_due"],
                frequency=row["update_frequency"],
                owner_id=row["owner_id"],
                live=row["archived_at"] is None and objective_archived is None and priorities[priority_id] is None,
                partners=partners[row["pk"]],
                pending_from=pending[row["pk"]],
                last_report=last[row["pk"]],
            )
        self.organisations = {o.pk: o for o in Organisation.objects.all()}
        self.users = {u.pk: u for u in User.objects.all()}

    def live(self, plan_id):
        return [a for a in self.actions.values() if a.live and a.plan_id == plan_id]

    def visible(self, user, plan_id):
        """The live actions of the plan that `user` may see: all for staff, their organisation's for partners."""
        actions = self.live(plan_id)
        if user.role == "partner":
            actions = [a for a in actions if user.organisation_id in a.partners]
        return actions

    def partner_plans(self, organisation_id):
        """The plans a partner may choose: those in which their organisation partners an action (archived too)."""
        return {a.plan_id for a in self.actions.values() if organisation_id in a.partners}

    def awaiting(self, action, user):
        if user.role == "partner":
            return user.organisation_id in action.pending_from
        return bool(action.pending_from)

    def reporting(self, action, organisation_id):
        """ "current", "late" or "never": the organisation's last report against the action's update cycle."""
        last = action.last_report.get(organisation_id)
        if last is None:
            return "never"
        if action.frequency is None:
            return "current"
        start = add_months(self.today, -action.frequency)
        return "current" if last >= datetime.datetime.combine(start, datetime.time.min, tzinfo=LONDON) else "late"

    def register(self, user, plan_id, filters):
        """The register's rows for `user` with these filters: {pk: OAction}."""
        rows = self.visible(user, plan_id)
        if "status" in filters:
            rows = [a for a in rows if a.status in filters["status"]]
        if "partner" in filters:
            rows = [a for a in rows if filters["partner"] in a.partners]
            if "reporting" in filters:
                rows = [a for a in rows if self.reporting(a, filters["partner"]) == filters["reporting"]]
        if "objective" in filters:
            rows = [a for a in rows if a.objective_id == filters["objective"]]
        if "priority" in filters:
            rows = [a for a in rows if a.priority_id == filters["priority"]]
        if "owner" in filters:
            rows = [a for a in rows if a.owner_id == filters["owner"]]
        if "q" in filters:
            q = filters["q"].lower()
            rows = [a for a in rows if q in a.code.lower() or q in a.title.lower() or q in a.description.lower()]
        if filters.get("overdue"):
            rows = [
                a
                for a in rows
                if a.overdue(self.today) and not (user.role == "partner" and user.organisation_id in a.pending_from)
            ]
        return {a.pk: a for a in rows}

    def overdue_label(self, action, user):
        if self.awaiting(action, user):
            return AWAITING
        return "Overdue" if action.overdue(self.today) else ""

    def contacts(self, organisation_id):
        """Who gets an organisation's reminders: its active partner users who joined, else its contact email."""
        people = [
            u.email.strip().lower()
            for u in self.users.values()
            if u.organisation_id == organisation_id
            and u.role == "partner"
            and u.is_active
            and u.email
            and u.password
            and not u.password.startswith(UNUSABLE_PASSWORD_PREFIX)
        ]
        if people:
            return people
        email = self.organisations[organisation_id].contact_email
        return [email.strip().lower()] if email else []

    def default_plan(self):
        """The plan shown to someone who never chose one: the latest current plan, else the one starting latest."""
        plans = sorted(
            self.plans.values(),
            key=lambda p: (p.start_date is None, -(p.start_date or self.today).toordinal(), p.title, p.pk),
        )
        current = [
            p
            for p in plans
            if p.start_date and p.start_date <= self.today and (not p.end_date or self.today <= p.end_date)
        ]
        return (current or plans)[0]


# ---------------------------------------------------------------------------------------------------
# Reading pages
# ---------------------------------------------------------------------------------------------------

ACTION_HREF = re.compile(r"/actions/(\d+)/")


def tree(html):
    return lxml.html.fromstring(html or "<html></html>")


def text_of(element):
    return " ".join(element.text_content().split())


def action_links(element):
    return {int(m) for href in element.xpath(".//a/@href") for m in ACTION_HREF.findall(href)}


def number(text):
    return int(text.replace(",", "").strip())


def parse_register(html):
    """(the count the page states, {pk: (status label, overdue label)} of its rows)."""
    doc = tree(html)
    status = doc.xpath("//p[@role='status']")
    count = number(re.match(r"\s*([\d,]+) action", text_of(status[0])).group(1)) if status else None
    rows = {}
    for tr in doc.xpath("//table[@id='action-register']/tbody/tr"):
        cells = tr.xpath("./td")
        links = action_links(tr)
        if len(cells) < 9 or not links:
            continue
        rows[links.pop()] = (text_of(cells[3]), text_of(cells[8]))
    return count, rows


def body_of(response):
    """The response's text, read once (a download is a stream that can be read only once)."""
    if not hasattr(response, "stateful_body"):
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        response.stateful_body = raw.decode("utf-8-sig")
    return response.stateful_body


def csv_rows(response):
    return list(csv.DictReader(io.StringIO(body_of(response))))


# ---------------------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------------------

action_spec = st.fixed_dictionaries(
    {
        "objective": st.integers(0, 3),
        "frequency": st.sampled_from([1, 3, 6, None]),
        "partners": st.lists(st.integers(0, 2), max_size=2, unique=True),
        "start": st.none() | st.integers(-400, 60),
    }
)
plan_spec = st.lists(action_spec, min_size=5, max_size=14)
REGISTER_FILTERS = ["status", "partner", "reporting", "objective", "priority", "owner", "q", "overdue"]


class PlanTrackerMachine(RuleBasedStateMachine):
    """Two plans, three organisations, every role; rules are what people do, invariants what must stay true."""

    def __init__(self):
        super().__init__()
        _reset_between_examples()
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.now = START
        self.step = 0
        self.notes = 0
        self.last_writer = None
        self.focus = None  # the plan the pages are checked for (?plan=)
        self.sec = self._user("sec", "secretariat")
        self.sec2 = self._user("sec-two", "secretariat")  # starts next plans; never picks a plan himself
        self.comm = self._user("comm", "commissioner")
        self.orgs = []
        for name, slug in ORGANISATIONS:
            self.orgs.append(
                Organisation.objects.create(
                    name=name,
                    short_name=name,
                    slug=slug,
                    contact_email=f"office@{slug}.example.org" if slug == "gamma" else "",
                )
            )
        self.partners = [
            self._user("alpha-one", "partner", self.orgs[0]),
            self._user("alpha-two", "partner", self.orgs[0]),
            self._user("beta-one", "partner", self.orgs[1]),
            self._user("gamma-one", "partner", self.orgs[2]),
        ]
        self.clients = {}
        self.sec_other_session = Client()
        self._sign_in_everyone()

    # --- set-up -------------------------------------------------------------------------------------

    def _user(self, username, role, organisation=None):
        user = User(username=username, email=f"{username}@example.org", role=role, organisation=organisation)
        user.set_password("correct horse battery")
        user.save()
        return user

    def _sign_in_everyone(self):
        """Sessions end after hours idle: after days pass everyone signs in again (as people do)."""
        for user in [self.sec, self.sec2, self.comm, *self.partners]:
            user.refresh_from_db()
            client = self.clients.setdefault(user.pk, Client())
            if user.is_active:
                client.force_login(user)
        self.sec_other_session.force_login(self.sec)

    @initialize(plans=st.lists(plan_spec, min_size=2, max_size=2))
    def build_plans(self, plans):
        for index, spec in enumerate(plans):
            # Plan 1 began months ago; plan 2 more recently (the default view, as the most recent current plan).
            start = START.date() - datetime.timedelta(days=240 if index == 0 else 45)
            plan = services.plan_create(
                by=self.sec, title=f"Plan {index + 1}", start_date=start, end_date=start + datetime.timedelta(days=1000)
            )
            objectives = []
            for number in (1, 2):
                priority = services.priority_create(plan=plan, by=self.sec, number=number, title=f"Priority {number}")
                for sub in (1, 2):
                    objectives.append(
                        services.objective_create(
                            priority=priority, by=self.sec, code=f"{number}.{sub}", title=f"Objective {number}.{sub}"
                        )
                    )
            counters = defaultdict(int)
            for n, item in enumerate(spec):
                objective = objectives[item["objective"]]
                counters[objective.pk] += 1
                details = {"owner": self.sec, "update_frequency": item["frequency"]}
                if item["start"] is not None:
                    details["start_date"] = START.date() + datetime.timedelta(days=item["start"])
                partners = [
                    (self.orgs[o], ActionPartner.Role.LEAD if i == 0 else ActionPartner.Role.SUPPORTING)
                    for i, o in enumerate(item["partners"])
                ]
                # The same codes in both plans: digests and dry runs must not merge them (issue 22.3).
                services.action_add(
                    objective=objective,
                    by=self.sec,
                    code=f"{objective.code}.{counters[objective.pk]}",
                    title=f"Task {index + 1}-{n + 1}",
                    description=f"Work item {index + 1}-{n + 1} as published",
                    partners=partners,
                    **details,
                )
        self.focus = Plan.objects.get(title="Plan 1").pk

    # --- helpers ------------------------------------------------------------------------------------

    def _tick(self, minutes=1):
        self.now += datetime.timedelta(minutes=minutes)
        self.clock.move_to(self.now)

    def _note(self, text):
        self.notes += 1
        return f"{text} [{self.notes:04d}]"  # no note is a part of another (the checks search for them)

    def _pick(self, items, which):
        items = list(items)
        return items[which % len(items)] if items else None

    def client_for(self, user):
        return self.clients[user.pk]

    def _post(self, user, url, data):
        self._tick()
        response = self.client_for(user).post(url, data)
        assert response.status_code < 500, (url, response.status_code)
        self.last_writer = user
        return response

    def _live_actions(self):
        # The rules' own choice of targets (not a check): any order that is fixed given the data will do.
        snapshot = Snapshot(self.now.date())
        return sorted((a for a in snapshot.actions.values() if a.live), key=lambda a: a.pk), snapshot

    def _check(self, name, ok, message):
        if ok:
            return
        defect = CHECKS[name]
        if defect in KNOWN_DEFECTS and not ALL_CHECKS and name not in CHECKS_ON:
            return
        raise broken(name, message)

    # --- what people do -----------------------------------------------------------------------------

    @precondition(lambda self: self.focus is not None)
    @rule(which=st.integers(0, 10**6), status=st.sampled_from(STATUSES), public=st.booleans())
    def secretariat_records_an_update(self, which, status, public):
        actions, _ = self._live_actions()
        action = self._pick(actions, which)
        if action is None:
            return
        version = Action.objects.get(pk=action.pk).version
        data = {"status": status, "note": self._note("Secretariat note"), "version": version}
        if public:
            data["is_public"] = "on"
        self._post(self.sec, reverse("priorities:action-record-update", args=[action.pk]), data)
        self.focus = action.plan_id

    @precondition(lambda self: self.focus is not None)
    @rule(who=st.integers(0, 3), which=st.integers(0, 10**6), status=st.sampled_from(STATUSES))
    def partner_submits_progress(self, who, which, status):
        partner = self.partners[who]
        partner.refresh_from_db()
        if not partner.is_active:
            return
        actions, _ = self._live_actions()
        action = self._pick([a for a in actions if partner.organisation_id in a.partners], which)
        if action is None:
            return
        note = self._note(f"Note from {partner.organisation.slug}")
        self._post(partner, reverse("priorities:submission-create", args=[action.pk]), {"status": status, "note": note})
        self.focus = action.plan_id

    @precondition(lambda self: self.focus is not None)
    @rule(which=st.integers(0, 10**6), accept=st.booleans())
    def secretariat_decides(self, which, accept):
        pending = list(Submission.objects.filter(state="submitted").order_by("pk").select_related("organisation"))
        submission = self._pick(pending, which)
        if submission is None:
            return
        if accept:
            self._post(self.sec, reverse("overview:submission-accept", args=[submission.pk]), {})
        else:
            reason = self._note(f"Reason for {submission.organisation.slug}")
            self._post(self.sec, reverse("overview:submission-return", args=[submission.pk]), {"reason": reason})
        self.focus = Action.objects.get(pk=submission.action_id).objective.priority.plan_id

    @precondition(lambda self: self.focus is not None)
    @rule(level=st.sampled_from(["action", "objective", "priority"]), which=st.integers(0, 10**6))
    def secretariat_archives_or_restores(self, level, which):
        model = {"action": Action, "objective": Objective, "priority": Priority}[level]
        item = self._pick(model.objects.order_by("pk"), which)
        if item is None:
            return
        plan_id = {
            "action": lambda: item.objective.priority.plan_id,
            "objective": lambda: item.priority.plan_id,
            "priority": lambda: item.plan_id,
        }[level]()
        if item.archived_at is not None:
            self._post(self.sec, reverse(f"priorities:{level}-restore", args=[item.pk]), {})
        else:
            url = reverse(f"priorities:{level}-archive", args=[item.pk])
            page = self.client_for(self.sec).get(url)
            assert page.status_code == 200, (url, page.status_code)
            # Whatever the confirm page offers (archive, or delete when nothing refers to it).
            decision = page.context["decision"]
            self._post(self.sec, url, {"decision": decision})
        self.focus = plan_id

    @precondition(lambda self: self.focus is not None)
    @rule(
        which_plan=st.integers(0, 10**6),
        rows=st.lists(
            st.tuples(st.integers(0, 10**6), st.booleans(), st.lists(st.integers(0, 2), max_size=2, unique=True)),
            min_size=1,
            max_size=3,
        ),
    )
    def secretariat_imports_rows(self, which_plan, rows):
        """The plan import service: rows that add actions and rows that change existing ones (partners too)."""
        plan = self._pick(Plan.objects.order_by("pk"), which_plan)
        objectives = list(Objective.objects.filter(priority__plan=plan).select_related("priority").order_by("pk"))
        actions = list(
            Action.objects.filter(objective__priority__plan=plan).select_related("objective__priority").order_by("pk")
        )
        if not objectives:
            return
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "priority",
                "objective",
                "action",
                "action title",
                "description",
                "lead partners",
                "supporting partners",
                "update frequency",
            ]
        )
        seen = set()
        for which, new, partner_ids in rows:
            names = [self.orgs[i].name for i in partner_ids]
            if new or not actions:
                objective = self._pick(objectives, which)
                self.notes += 1
                code, title = f"{objective.code}.{50 + self.notes}", f"Imported {self.notes}"
                priority_number, objective_code = objective.priority.number, objective.code
            else:
                action = self._pick(actions, which)
                code, title = action.code, f"{action.title} (imported)"
                priority_number, objective_code = action.objective.priority.number, action.objective.code
            if code in seen:
                continue
            seen.add(code)
            writer.writerow(
                [
                    priority_number,
                    objective_code,
                    code,
                    title,
                    f"Description of {title}",
                    names[0] if names else "",
                    "; ".join(names[1:]),
                    "Monthly",
                ]
            )
        self._tick()
        upload = plan_import_services.plan_import_store(
            filename="rows.csv", content=out.getvalue().encode(), by=self.sec, plan=plan
        )
        try:
            plan_import_services.plan_import_confirm(upload=upload, by=self.sec)
        except plan_import_services.PlanImportNotValid as error:
            raise AssertionError(f"a valid import was refused: {error.preview.file_errors} {error.preview}") from error
        self.last_writer = None
        self.focus = plan.pk

    @precondition(lambda self: self.focus is not None and Plan.objects.count() < 4)
    @rule(which_plan=st.integers(0, 10**6), starts_in=st.sampled_from([3, 20, 90, 400]))
    def secretariat_starts_the_next_plan(self, which_plan, starts_in):
        plan = self._pick(Plan.objects.order_by("pk"), which_plan)
        unfinished = Action.objects.filter(
            objective__priority__plan=plan,
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
            objective__priority__archived_at__isnull=True,
        ).exclude(status="completed")
        start = self.now.date() + datetime.timedelta(days=starts_in)
        data = {
            "title": f"Plan {Plan.objects.count() + 1}",
            "start_date": start.isoformat(),
            "end_date": (start + datetime.timedelta(days=1000)).isoformat(),
            "actions": [a.pk for a in unfinished],
        }
        # As a person does: the product's own page, then wherever it leads.
        self._tick()
        response = self.client_for(self.sec2).post(
            reverse("priorities:plan-start-next", args=[plan.pk]), data, follow=True
        )
        assert response.status_code == 200, response.status_code
        self.last_writer = self.sec2
        self.focus = Plan.objects.order_by("-pk").first().pk
        self._check_default_plan()

    @precondition(lambda self: self.focus is not None)
    @rule(which_plan=st.integers(0, 10**6), publish=st.booleans())
    def secretariat_publishes(self, which_plan, publish):
        plan = self._pick(Plan.objects.order_by("pk"), which_plan)
        self._tick()
        (services.plan_publish if publish else services.plan_unpublish)(plan=plan, by=self.sec)
        self.last_writer = None
        self.focus = plan.pk

    @precondition(lambda self: self.focus is not None)
    @rule(who=st.integers(0, 3))
    def secretariat_deactivates_or_reactivates(self, who):
        person = self.partners[who]
        person.refresh_from_db()
        was_active = person.is_active
        # Through the confirmation pages' POSTs, as the secretariat does (issue 22.7).
        name = "user-deactivate" if was_active else "user-reactivate"
        if not was_active:
            self._tick()
        self._post(self.sec, reverse(name, args=[person.organisation.slug, person.pk]), {})
        person.refresh_from_db()
        assert person.is_active != was_active, f"{name} changed nothing for {person.username}"
        if was_active:
            page = self.client_for(self.sec).get(reverse("organisation-detail", args=[person.organisation.slug]))
            self._check("reactivation_offered", b"Reactivate" in page.content, f"no Reactivate for {person.username}")
        else:
            self.client_for(person).force_login(person)
            self.last_writer = None

    @precondition(lambda self: self.focus is not None)
    @rule(days=st.sampled_from([1, 2, 6, 7, 13, 29, 45]))
    def days_pass(self, days):
        self.now += datetime.timedelta(days=days)
        self.clock.move_to(self.now)
        self._sign_in_everyone()
        self.last_writer = None

    @precondition(lambda self: self.focus is not None)
    @rule(which_plan=st.integers(0, 10**6))
    def look_at_another_plan(self, which_plan):
        self.focus = self._pick(Plan.objects.order_by("pk"), which_plan).pk

    @precondition(lambda self: self.focus is not None)
    @rule(
        viewer=st.integers(0, 5),
        name=st.sampled_from(REGISTER_FILTERS),
        which=st.integers(0, 10**6),
    )
    def someone_filters_the_register(self, viewer, name, which):
        """One filter of the register and its CSV, as a person of any role uses them."""
        user = ([self.sec, self.comm] + self.partners)[viewer]
        user.refresh_from_db()
        snapshot = Snapshot(self.now.date())
        if not user.is_active or not self._may_choose(user, snapshot):
            return
        actions = snapshot.live(self.focus)
        filters = {}
        if name == "status":
            filters["status"] = sorted({STATUSES[which % 5], STATUSES[(which // 5) % 5]})
        elif name in ("partner", "reporting"):
            # The choices: a partner's own organisation; for staff, any organisation that partners an action.
            partnering = sorted({org for a in snapshot.actions.values() for org in a.partners})
            org = user.organisation_id if user.role == "partner" else self._pick(partnering, which)
            if org is None:
                return
            filters["partner"] = org
            if name == "reporting":
                filters["reporting"] = ["current", "late", "never"][(which // 3) % 3]
        elif name == "objective":
            objective = self._pick(sorted({a.objective_id for a in actions}), which)
            if objective is None:
                return
            filters["objective"] = objective
        elif name == "priority":
            priority = self._pick(sorted({a.priority_id for a in actions}), which)
            if priority is None:
                return
            filters["priority"] = priority
        elif name == "owner":
            if user.role == "partner":
                return
            filters["owner"] = self.sec.pk
        elif name == "q":
            action = self._pick(sorted(actions, key=lambda a: a.pk), which)
            if action is None:
                return
            filters["q"] = action.title.split()[-1].upper()
        else:
            filters["overdue"] = True
        self._check_register(user, snapshot, filters)
        self._check_register_csv(user, snapshot, filters)

    @precondition(lambda self: self.focus is not None)
    @rule()
    def the_daily_reminders_run(self):
        """`send_reminders --dry-run` then `send_reminders`, for today, as the README shows them."""
        self._tick()
        today = self.now.date()
        before_rows = Reminder.objects.count()
        before_max = Reminder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        dry = io.StringIO()
        call_command("send_reminders", "--dry-run", f"--date={today.isoformat()}", stdout=dry)
        self._check("dry_run_writes_nothing", Reminder.objects.count() == before_rows, "the dry run wrote rows")
        promised = {
            email: int(n) for email, n in re.findall(r"^  (\S+@\S+): (\d+) actions? \(", dry.getvalue(), flags=re.M)
        }
        mail.outbox.clear()
        call_command("send_reminders", f"--date={today.isoformat()}", stdout=io.StringIO())
        self.last_writer = None
        written = defaultdict(set)
        for email, action_id in Reminder.objects.filter(pk__gt=before_max).values_list("recipient_email", "action_id"):
            written[email].add(action_id)
        real = {email: len(ids) for email, ids in written.items()}
        self._check(
            "dry_run_matches_real_run",
            promised == real,
            f"on {today} the dry run promised {promised}, the real run wrote reminders about {real} actions",
        )
        self._check_reminders(today)

    # --- the checks ---------------------------------------------------------------------------------

    def _check_reminders(self, today):
        snapshot = Snapshot(today)
        rows = list(
            Reminder.objects.filter(kind="overdue").values_list(
                "recipient_email", "action_id", "created_at", "organisation_id"
            )
        )
        by_pair = defaultdict(list)
        for email, action_id, created_at, _org in rows:
            by_pair[(email, action_id)].append(created_at.astimezone(LONDON).date())
        missing, doubled = [], []
        for action in sorted(snapshot.actions.values(), key=lambda a: a.pk):
            if not action.live or not action.overdue(today):
                continue
            for org_id in sorted(action.partners):
                if org_id in action.pending_from:
                    continue  # it has reported: the review, not a reminder, is what it waits for
                for email in snapshot.contacts(org_id):
                    days = [d for d in by_pair[(email, action.pk)] if d >= action.due]
                    if not days or max(days) < today - datetime.timedelta(days=REMINDER_GAP_DAYS):
                        missing.append(
                            f"{action.code} ({self._plan_title(snapshot, action)}, due {action.due}) to {email}"
                        )
                    if days.count(today) > 1:
                        doubled.append(f"{action.code} to {email}")
        self._check(
            "overdue_reminded_until_reported",
            not missing,
            f"on {today} nobody was reminded within {REMINDER_GAP_DAYS} days of: {', '.join(missing)}",
        )
        for message in mail.outbox:
            for pk in set(ACTION_HREF.findall(message.body)):
                doubled += (
                    [f"{pk} twice in one email to {message.to}"] if message.body.count(f"/actions/{pk}/") > 1 else []
                )
        self._check("reminded_once_a_day", not doubled, f"on {today}: {', '.join(doubled)}")

    def _plan_title(self, snapshot, action):
        return snapshot.plans[action.plan_id].title

    def _may_choose(self, user, snapshot):
        """A partner may choose only plans in which their organisation partners an action (else ?plan= is refused)."""
        return user.role != "partner" or self.focus in snapshot.partner_plans(user.organisation_id)

    def _load(self, name, user, url, compare, client=None):
        """Load a page once and check it; see _load_checks."""
        return self._load_checks(user, url, [(name, compare)], client=client)

    def _load_checks(self, user, url, checks, client=None):
        """Load a page and run each (name, compare) on it; compare returns the problems it finds.

        A check that fails on the first load and holds on a reload saw a stale page: that is the
        freshness invariant's failure (issue 22.1 for a second person), not the page's own.
        """
        client = client or self.client_for(user)
        first = client.get(url)
        assert first.status_code == 200, (user.username, url, first.status_code)
        self._isolation(user, first, url)
        failing = [(name, compare, problems) for name, compare in checks if (problems := compare(first))]
        if not failing:
            return
        second = client.get(url)
        self._isolation(user, second, url)
        writer = user == self.last_writer and client is self.client_for(user)
        for name, compare, problems in failing:
            again = compare(second)
            if not again:
                fresh = "fresh_for_the_writer" if writer else "fresh_for_a_second_person"
                self._check(fresh, False, f"{user.username}'s first load of {url} was out of date: {problems}")
            else:
                self._check(name, False, f"{url} as {user.username}: {again}")

    def _isolation(self, user, response, url):
        """A partner's page names no action, submission or return reason of another organisation."""
        if user.role != "partner":
            return
        body = body_of(response)
        own = set(Action.objects.filter(partnerships__organisation=user.organisation_id).values_list("pk", flat=True))
        titles = set(Action.objects.exclude(pk__in=own).values_list("title", flat=True))
        strangers = {int(pk) for pk in ACTION_HREF.findall(body)} - own
        others = [slug for _, slug in ORGANISATIONS if slug != user.organisation.slug]
        leaks = [
            s["note"]
            for s in Submission.objects.exclude(organisation=user.organisation_id)
            .exclude(state="accepted")
            .values("note")
        ]
        leaks += [
            r
            for r in Submission.objects.exclude(organisation=user.organisation_id).values_list(
                "return_reason", flat=True
            )
            if r
        ]
        leaked = [text for text in leaks if text and text in body]
        if url.startswith(reverse("priorities:action-export-csv")):
            found_titles = {row.get("Title") for row in csv.DictReader(io.StringIO(body))}
            strangers |= {t for t in found_titles if t in titles}
        self._check(
            "partner_sees_only_their_organisation",
            not strangers and not leaked and not any(f"Reason for {slug} " in body for slug in others),
            f"{user.username} sees on {url}: actions {sorted(map(str, strangers))}, submissions {leaked}",
        )

    def _plan_query(self, snapshot):
        return f"plan={snapshot.plans[self.focus].slug}"

    def _check_register(self, user, snapshot, filters, client=None):
        expected = snapshot.register(user, self.focus, filters)
        query = self._plan_query(snapshot) + "".join(
            f"&{k}={v}" if not isinstance(v, list) else "".join(f"&{k}={item}" for item in v)
            for k, v in ((k, "on" if v is True else v) for k, v in sorted(filters.items()))
        )
        url = f"{reverse('priorities:action-list')}?{query}"

        def compare(response):
            count, rows = parse_register(response.content.decode())
            wanted = {pk: (STATUS_LABELS[a.status], snapshot.overdue_label(a, user)) for pk, a in expected.items()}
            if count == len(expected) and rows == wanted:
                return []
            return [f"count {count} (expected {len(expected)})", f"rows {_diff(rows, wanted, snapshot)}"]

        self._load("register_matches_oracle", user, url, compare, client=client)

    def _check_register_csv(self, user, snapshot, filters):
        expected = snapshot.register(user, self.focus, filters)
        query = self._plan_query(snapshot) + "".join(
            f"&{k}={v}" if not isinstance(v, list) else "".join(f"&{k}={item}" for item in v)
            for k, v in ((k, "on" if v is True else v) for k, v in sorted(filters.items()))
        )
        url = f"{reverse('priorities:action-export-csv')}?{query}"

        def compare(response):
            rows = {row["Title"]: (row["Code"], row["Status"], row["Next update due"]) for row in csv_rows(response)}
            wanted = {
                a.title: (a.code, STATUS_LABELS[a.status], a.due.isoformat() if a.due else "")
                for a in expected.values()
            }
            return [] if rows == wanted else [f"csv rows {_diff(rows, wanted, snapshot)}"]

        def overdue_column(response):
            # The register's own column: progress awaiting review is not "Overdue" (README, the register).
            rows = {row["Title"]: row["Overdue"] for row in csv_rows(response)}
            wanted = {a.title: snapshot.overdue_label(a, user) for a in expected.values()}
            return [] if rows == wanted else [f"Overdue column {_diff(rows, wanted, snapshot)}"]

        self._load_checks(
            user,
            url,
            [
                ("register_csv_matches_oracle", compare),
                ("register_csv_overdue_column_as_on_the_register", overdue_column),
            ],
        )

    def _check_dashboard(self, user, snapshot):
        url = f"{reverse('overview:dashboard')}?{self._plan_query(snapshot)}"
        actions = snapshot.live(self.focus)
        today = snapshot.today

        def compare(response):
            doc = tree(response.content.decode())
            headline = {
                text_of(li.xpath(".//*[@class='app-headline__label']")[0]): number(
                    text_of(li.xpath(".//*[@class='app-headline__count']")[0])
                )
                for li in doc.xpath("//ul[@id='headline-counts']/li")
            }
            wanted = {label: sum(1 for a in actions if a.status == s) for s, label in STATUS_LABELS.items()}
            heading = [text_of(h) for h in doc.xpath("//h2") if text_of(h).startswith("Updates overdue")]
            overdue = number(re.search(r"\((\d[\d,]*)\)", heading[0]).group(1)) if heading else None
            wanted_overdue = sum(1 for a in actions if a.overdue(today))
            engagement = {}
            for tr in doc.xpath("//table[@id='engagement']/tbody/tr"):
                name = text_of(tr.xpath("./th")[0])
                engagement[name] = tuple(number(text_of(td)) for td in tr.xpath("./td"))
            wanted_engagement = {}
            for org in snapshot.organisations.values():
                partnered = [a for a in actions if org.pk in a.partners]
                if partnered:
                    states = [snapshot.reporting(a, org.pk) for a in partnered]
                    wanted_engagement[org.name] = (len(partnered), states.count("current"), states.count("never"))
            problems = []
            if headline != wanted:
                problems.append(f"headline {headline} (expected {wanted})")
            if overdue != wanted_overdue:
                problems.append(f"overdue {overdue} (expected {wanted_overdue})")
            if engagement != wanted_engagement:
                problems.append(f"engagement {engagement} (expected {wanted_engagement})")
            return problems

        self._load("dashboard_matches_oracle", user, url, compare)

    def _check_organisation_page(self, org, snapshot):
        url = f"{reverse('organisation-detail', args=[org.slug])}?{self._plan_query(snapshot)}"
        wanted = {a.pk for a in snapshot.live(self.focus) if org.pk in a.partners}

        def compare(response):
            doc = tree(response.content.decode())
            table = doc.xpath("//table[@id='organisation-actions']")
            shown = action_links(table[0]) if table else set()
            stated = re.search(r"partners ([\d,]+) action", text_of(doc))
            count = number(stated.group(1)) if stated else 0
            if shown == wanted and count == len(wanted):
                return []
            return [f"lists {_names(shown, snapshot)} and says {count} (expected {_names(wanted, snapshot)})"]

        self._load("organisation_page_matches_oracle", self.sec, url, compare)

    def _check_partner_home(self, user, snapshot):
        url = f"{reverse('home')}?{self._plan_query(snapshot)}"
        today = snapshot.today
        mine = snapshot.visible(user, self.focus)
        org = user.organisation_id
        open_ = [a for a in mine if org not in a.pending_from and a.status != "completed"]
        wanted = {
            "total": len(mine),
            "overdue": sum(1 for a in open_ if a.due and a.due < today),
            "due soon": sum(1 for a in open_ if a.due and today <= a.due <= today + datetime.timedelta(days=30)),
            "awaiting": sum(1 for a in mine if org in a.pending_from),
        }
        wanted_lists = {
            "overdue-actions": {a.pk for a in open_ if a.due and a.due < today},
            "awaiting-review": {a.pk for a in mine if org in a.pending_from},
            "partner-actions": {a.pk for a in mine},
        }

        def compare(response):
            doc = tree(response.content.decode())
            values = [text_of(dd) for dd in doc.xpath("//dl[@id='partner-summary']//dd")]
            if len(values) < 4:
                return [f"no summary: {values}"]
            shown = {
                "total": number(values[0].split(":")[0]),
                "overdue": number(values[1]),
                "due soon": number(values[2]),
                "awaiting": number(values[3]),
            }
            lists = {}
            for list_id in wanted_lists:
                found = doc.xpath(f"//*[@id='{list_id}']")
                lists[list_id] = action_links(found[0]) if found else set()
            problems = []
            if shown != wanted:
                problems.append(f"summary {shown} (expected {wanted})")
            for list_id, pks in wanted_lists.items():
                if lists[list_id] != pks:
                    problems.append(f"{list_id} {_names(lists[list_id], snapshot)} (expected {_names(pks, snapshot)})")
            return problems

        self._load("partner_home_matches_oracle", user, url, compare)

    def _check_progress_report(self, snapshot):
        url = f"{reverse('overview:progress-report')}?{self._plan_query(snapshot)}"
        actions = snapshot.live(self.focus)

        def compare(response):
            doc = tree(response.content.decode())
            table = doc.xpath("//table[@id='report-summary']")
            labels = [text_of(th) for th in table[0].xpath(".//th")] if table else []
            counts = [number(text_of(td)) for td in table[0].xpath(".//td")] if table else []
            shown = dict(zip(labels, counts, strict=False))
            wanted = {label: sum(1 for a in actions if a.status == s) for s, label in STATUS_LABELS.items()}
            return [] if shown == wanted else [f"summary {shown} (expected {wanted})"]

        def listed(response):
            # As the fixed report must list them (issue 22.5): every live action, its status then, on the page.
            if len(actions) > 500:
                return []
            rows = [
                [text_of(cell) for cell in tr.xpath("./td|./th")]
                for tr in tree(response.content.decode()).xpath("//tr")
            ]

            def listed_in(action, cells):
                joined = " | ".join(cells)
                named = f"{action.code} {action.title}" in joined or (action.code in cells and action.title in cells)
                return named and STATUS_LABELS[action.status] in joined

            missing = [a.code for a in actions if not any(listed_in(a, cells) for cells in rows)]
            return [f"actions not listed with their status: {missing}"] if missing else []

        self._load_checks(
            self.comm,
            url,
            [("progress_report_summary_matches_oracle", compare), ("progress_report_lists_actions", listed)],
        )

    def _check_public_json(self, snapshot):
        anonymous = Client()
        plan = snapshot.plans[self.focus]
        wanted_updates = defaultdict(set)
        for u in snapshot.updates:
            if u["is_public"]:
                wanted_updates[u["action_id"]].add(u["note"])
        hidden = [u["note"] for u in snapshot.updates if not u["is_public"] and u["note"]]
        hidden += [s["note"] for s in snapshot.submissions if s["state"] != "accepted" and s["note"]]
        hidden += [s["return_reason"] for s in snapshot.submissions if s["return_reason"]]
        any_published = any(p.published_at for p in snapshot.plans.values())

        def compare(response):
            if response.status_code == 404:
                return [] if not any_published else ["404 while a plan is published"]
            document = json.loads(response.content)
            plans = {p["slug"]: p for p in document.get("plans", [])}
            problems = []
            if plan.published_at is None:
                if plan.slug in plans:
                    problems.append(f"{plan.title} is not published but is in plan.json")
            else:
                found = plans.get(plan.slug)
                if found is None:
                    return [f"{plan.title} is published but not in plan.json"]
                shown = {
                    a["id"]: (a["status"], {u["note"] for u in a["updates"]})
                    for p in found["priorities"]
                    for o in p["objectives"]
                    for a in o["actions"]
                }
                wanted = {a.pk: (a.status, wanted_updates[a.pk]) for a in snapshot.live(self.focus)}
                if shown != wanted:
                    problems.append(f"actions {_diff(shown, wanted, snapshot)}")
            text = response.content.decode()
            problems += [f"private text in plan.json: {t}" for t in hidden if json.dumps(t)[1:-1] in text]
            return problems

        url = reverse("public:plan-json")
        first = anonymous.get(url)
        if first.status_code not in (200, 404):
            raise AssertionError(f"{url}: {first.status_code}")
        problems = compare(first)
        if problems:
            again = compare(anonymous.get(url))
            self._check(
                "fresh_for_a_second_person" if not again else "public_json_matches_oracle",
                False,
                f"{again or problems}",
            )

    def _check_plan_page(self, snapshot):
        url = f"{reverse('priorities:plan')}?{self._plan_query(snapshot)}"
        others = {a.pk for a in snapshot.actions.values() if a.plan_id != self.focus}

        def compare(response):
            shown = action_links(tree(response.content.decode()))
            return [f"actions of other plans: {_names(shown & others, snapshot)}"] if shown & others else []

        self._load("plan_page_shows_the_chosen_plan", self.sec, url, compare)

    def _check_default_plan(self):
        """After starting the next plan, whoever started it still sees the current plan by default (22.10)."""
        snapshot = Snapshot(self.now.date())
        chosen = PlanChoice.objects.filter(user=self.sec2).values_list("plan_id", flat=True).first()
        response = self.client_for(self.sec2).get(reverse("priorities:action-list"))
        found = re.search(r"export\.csv\?[^\"]*plan=([\w-]+)", response.content.decode())
        shown = found.group(1) if found else None
        wanted = snapshot.default_plan().slug
        self._check(
            "next_plan_is_not_the_default_before_it_starts",
            shown == wanted,
            f"{self.sec2.username} never chose a plan but sees {shown} (choice stored: {chosen}); "
            f"the current plan is {wanted}",
        )

    @invariant()
    def every_page_agrees_with_the_oracle(self):
        if self.focus is None:
            return
        self.step += 1
        self._tick()
        snapshot = Snapshot(self.now.date())
        for user in [self.sec, self.comm, *self.partners]:
            user.refresh_from_db()
        # The second person (the commissioner, a partner, the secretary's other session) loads each page
        # right after the change, before the writer does.
        partners = [p for p in self.partners if p.is_active and self._may_choose(p, snapshot)]
        # alpha-two reads after alpha-one (a second person of one organisation); the CSV and the home page
        # are the same for both, so one of them reads those.
        for user in [self.comm, *partners, self.sec]:
            self._check_register(user, snapshot, {})
        self._check_register(self.sec, snapshot, {}, client=self.sec_other_session)
        for user in [self.comm, *(p for p in partners if p.username != "alpha-two")]:
            self._check_register_csv(user, snapshot, {})
            if user.role == "partner":
                self._check_partner_home(user, snapshot)
        for user in (self.comm, self.sec):
            self._check_dashboard(user, snapshot)
        for org in self.orgs:
            self._check_organisation_page(org, snapshot)
        self._check_progress_report(snapshot)
        self._check_public_json(snapshot)
        self._check_plan_page(snapshot)
        # A partner asking for another organisation's action gets "page not found".
        for partner in self.partners[::2]:
            if not partner.is_active:
                continue
            foreign = sorted(a.pk for a in snapshot.actions.values() if partner.organisation_id not in a.partners)
            if foreign:
                response = self.client_for(partner).get(
                    reverse("priorities:action-detail", args=[foreign[self.step % len(foreign)]])
                )
                self._check(
                    "partner_sees_only_their_organisation",
                    response.status_code == 404,
                    f"{partner.username}: {response.status_code}",
                )

    def teardown(self):
        self.traveller.stop()
        _reset_between_examples()


def _names(pks, snapshot):
    return sorted(
        f"{snapshot.actions[pk].code} {snapshot.actions[pk].title}" if pk in snapshot.actions else str(pk) for pk in pks
    )


def _diff(shown, wanted, snapshot):
    extra = {k: shown[k] for k in set(shown) - set(wanted)}
    missing = {k: wanted[k] for k in set(wanted) - set(shown)}
    wrong = {k: (shown[k], wanted[k]) for k in set(shown) & set(wanted) if shown[k] != wanted[k]}
    label = lambda k: f"{snapshot.actions[k].code} {snapshot.actions[k].title}" if k in snapshot.actions else k  # noqa: E731
    return {
        "extra": {label(k): v for k, v in extra.items()},
        "missing": {label(k): v for k, v in missing.items()},
        "wrong (shown, expected)": {label(k): v for k, v in wrong.items()},
    }


def _reset_between_examples():
    """Each example starts as a fresh installation: empty tables (TransactionTestCase's flush), an empty
    fragment cache, and no memory in this process of earlier examples' writes (tracker/caching.py)."""
    cache.clear()
    caching._own.update(committed=0, pending=False)
    caching._recent.update(local=None, shared=0, read_at=float("-inf"))
    mail.outbox = []
    if _current_case is not None and User.objects.exists():
        _current_case._fixture_teardown()
    # Every request commits: waiting for the disk at each commit would be most of the run. A test database
    # need not survive a power cut.
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")
        elif connection.vendor == "postgresql":
            cursor.execute("SET synchronous_commit TO OFF")


_current_case = None

SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(EXAMPLES_DIR)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    verbosity=Verbosity.normal,
    print_blob=True,
)


@override_settings(
    TWO_STEP_ROLES=[],
    # Once issue 22.1's bound exists: a second person's next load must be fresh, whatever the clock says.
    FRAGMENT_MAX_STALE_SECONDS=0,
    FRAGMENT_RENDER_IN_THREAD=False,
    CELERY_TASK_ALWAYS_EAGER=True,
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)
class TestTheWholeTracker(TransactionTestCase):
    """Real commits (TransactionTestCase): the page cache and the outbox act on commit, as in production."""

    def test_random_sequences_of_what_people_do_keep_every_invariant(self):
        global _current_case
        from celery import current_app

        from tracker.celery import app

        # Shared tasks run on the current Celery app: another test may have made its own app current.
        previous = current_app._get_current_object()
        eager = app.conf.task_always_eager
        app.set_current()
        app.conf.task_always_eager = True  # emails queued on commit are sent here, into mail.outbox
        _current_case = self
        try:
            run_state_machine_as_test(PlanTrackerMachine, settings=SETTINGS)
        finally:
            _current_case = None
            app.conf.task_always_eager = eager
            previous.set_current()
