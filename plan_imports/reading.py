"""Read a plan file (CSV or Excel, one row per action) and check every row, without writing anything.

Columns, in any order, matched by heading (case and spaces do not matter): see COLUMNS. Rows are
numbered as a spreadsheet shows them: the headings are row 1. Partners are organisation names or
short names separated by ";"; the owner is a username or an email address; the update frequency is
written as the register shows it (UpdateFrequency's labels). An action code already in the plan
updates that action (the preview lists its changes field by field); a new code adds one.

The file is read by the shared readers (tracker.imports.read_rows: the same limits and the same
refusals of hostile files as the measurements import) and checked in bulk: organisations,
owners and the plan's existing codes are loaded in a fixed handful of queries, whatever the number
of rows. plan_imports.services.plan_import_confirm writes a valid file in one transaction.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower

from priorities.models import Action, ActionPartner, Objective, Plan, Priority, UpdateFrequency
from tracker.imports import Preview, PreviewRow, Problem, read_rows
from tracker.models import Organisation, User
from tracker.spreadsheets import MAX_ROWS, cell_text, parse_date, person_name

COLUMNS = (
    "priority",
    "priority title",
    "objective",
    "objective title",
    "action",
    "action title",
    "description",
    "lead partners",
    "supporting partners",
    "owner",
    "start date",
    "target date",
    "update frequency",
)
# Without these the file cannot say what it is about; the others may be left out (their cells are then blank).
REQUIRED_COLUMNS = ("priority", "objective", "action", "action title", "description")
# A CharField's max_length is always set (`or 0` tells mypy so, as in indicators/importing.py).
CODE_MAX_LENGTH = Action._meta.get_field("code").max_length or 0
PRIORITY_TITLE_MAX_LENGTH = Priority._meta.get_field("title").max_length or 0
OBJECTIVE_TITLE_MAX_LENGTH = Objective._meta.get_field("title").max_length or 0
ACTION_TITLE_MAX_LENGTH = Action._meta.get_field("title").max_length or 0
ORGANISATION_NAME_MAX_LENGTH = Organisation._meta.get_field("name").max_length or 0
DESCRIPTION_MAX_LENGTH = 10_000
PRIORITY_NUMBER_MAX = 32767  # PositiveSmallIntegerField
FIRST_YEAR, LAST_YEAR = 1900, 2999  # the dates an action's schedule may be counted from
FREQUENCIES = {label.lower(): value for value, label in UpdateFrequency.choices}
FREQUENCY_LABELS = ", ".join(label for _, label in UpdateFrequency.choices)
PARTNER_COLUMNS = (("lead partners", ActionPartner.Role.LEAD), ("supporting partners", ActionPartner.Role.SUPPORTING))
# The action fields a row sets, in the order the preview lists changes.
FIELD_LABELS = {
    "title": "Title",
    "description": "Description",
    "owner": "Owner",
    "start_date": "Start date",
    "target_date": "Target date",
    "update_frequency": "Update frequency",
    "partners": "Partners",
}


def name_key(text: str) -> str:
    """How names and codes are compared: case and runs of spaces do not matter."""
    return " ".join(text.split()).casefold()


def display(field_name: str, value: Any) -> str:
    """A value as the preview and the action history show it."""
    if value is None or value == "":
        return ""
    if field_name == "update_frequency":
        return UpdateFrequency(value).label
    if isinstance(value, datetime.date):
        return value.strftime("%-d %B %Y")
    return str(value)


def partners_display(pairs: Iterable[tuple[str, str]]) -> str:
    """(name, role) pairs as "Europol (lead); Eurojust (supporting)", sorted as the history sorts them."""
    return "; ".join(f"{name} ({role})" for name, role in sorted(pairs))


@dataclass
class PlanRow(PreviewRow):
    # (column, name as written) for organisations not in the database; errors unless confirmed.
    unknown_organisations: list[tuple[str, str]] = field(default_factory=list)
    priority_number: int | None = None
    objective_code: str = ""
    action_code: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # Action field -> new value (owner a User)
    partners: list[tuple[Any, str]] = field(default_factory=list)  # (Organisation or the key of a new one, role)
    action: "ExistingAction | None" = None  # the existing action this row updates
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (label, old, new) for an existing action

    @property
    def is_addition(self) -> bool:
        return self.action is None


@dataclass
class PlanPreview(Preview):
    plan_title: str = ""
    rows: list[PlanRow] = field(default_factory=list)
    # key -> name as first written, for every organisation the file names that does not exist yet.
    new_organisations: dict[Any, str] = field(default_factory=dict)
    confirmed_organisations: set[str] = field(default_factory=set)  # keys the person ticked
    # Priorities and objectives: (what, old title, new title) for those the file renames.
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    new_priorities: dict[int, str] = field(default_factory=dict)  # number -> title
    # objective key -> (code, priority number, title)
    new_objectives: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    priority_titles: dict[int, str] = field(default_factory=dict)  # number -> title the file gives (or the plan's)
    # objective key -> title the file gives (or the plan's)
    objective_titles: dict[str, str] = field(default_factory=dict)

    def row_errors(self, row: PlanRow) -> list[Problem]:
        """A row's problems, with each unknown organisation not (yet) ticked for creating.

        The boxes to tick are shown only once nothing else is wrong (can_confirm): until then the
        message says to correct the name, or to add the organisation once the rest is corrected.
        """
        errors = list(row.errors)
        if self.can_confirm:
            how = "tick it under New organisations to add it, or correct the name."
        else:
            how = "correct the name, or add it as a new organisation once the other problems are corrected."
        for column, name in row.unknown_organisations:
            if name_key(name) not in self.confirmed_organisations:
                errors.append((column, f"No organisation is called “{name}”: {how}"))
        return errors

    def __post_init__(self) -> None:
        self._checked: list[tuple[PlanRow, list[Problem]]] | None = None

    def checked(self) -> list[tuple[PlanRow, list[Problem]]]:
        """[(row, its problems)], computed once: unknown organisations not ticked are problems too."""
        if self._checked is None:
            self._checked = [(row, self.row_errors(row)) for row in self.rows]
        return self._checked

    @property
    def error_rows(self) -> list[tuple[PlanRow, list[Problem]]]:
        return self.problems()

    def blocking(self) -> list[tuple[PlanRow, list[Problem]]]:
        """[(row, its problems)] for problems the file must correct (all but unknown organisations)."""
        return [(row, row.errors) for row in self.rows if row.errors]

    @property
    def unconfirmed_organisations(self) -> list[tuple[str, list[int]]]:
        """[(name, [row numbers])] for each unknown organisation not ticked for adding."""
        found: dict[str, tuple[str, list[int]]] = {}
        for row in self.rows:
            for _, name in row.unknown_organisations:
                key = name_key(name)
                if key not in self.confirmed_organisations:
                    found.setdefault(key, (self.new_organisations[key], []))[1].append(row.number)
        return list(found.values())

    # can_confirm (Preview's): no problem but unknown organisations, which the confirmation form lets the
    # person add; is_valid: none of those either.

    @property
    def additions(self) -> int:
        return sum(1 for row in self.rows if row.is_addition)

    @property
    def updates(self) -> int:
        return sum(1 for row in self.rows if not row.is_addition and row.changes)

    @property
    def unchanged(self) -> int:
        return sum(1 for row in self.rows if not row.is_addition and not row.changes)


class _Organisations:
    """Every organisation by name and by short name, from one query."""

    def __init__(self) -> None:
        self.by_name: dict[str, Organisation] = {}
        self.by_short: dict[str, list[Organisation]] = {}
        for organisation in Organisation.objects.only("pk", "name", "short_name"):
            self.by_name[name_key(organisation.name)] = organisation
            if organisation.short_name:
                self.by_short.setdefault(name_key(organisation.short_name), []).append(organisation)

    def find(self, name: str) -> tuple[Organisation | None, str | None]:
        """(organisation, None), (None, a problem) or (None, None) for a name no organisation has."""
        key = name_key(name)
        if key in self.by_name:
            return self.by_name[key], None
        found = self.by_short.get(key, [])
        if len(found) == 1:
            return found[0], None
        if found:
            names = "; ".join(sorted(o.name for o in found))
            return None, f"“{name}” is the short name of more than one organisation ({names}): use the full name."
        return None, None


def _owners(names: Iterable[str]) -> dict[str, list[User]]:
    """{key: [users]} for the usernames and email addresses the file names, from one query."""
    keys = {name_key(name) for name in names if name}
    found: dict[str, list[User]] = {}
    if not keys:
        return found
    users = (
        User.objects.annotate(username_key=Lower("username"), email_key=Lower("email"))
        .filter(Q(username_key__in=keys) | Q(email_key__in=keys))
        .only("pk", "username", "email", "first_name", "last_name", "role", "is_active")
    )
    for user in users:
        for key in {user.username_key, user.email_key} & keys:
            found.setdefault(key, []).append(user)
    return found


@dataclass
class ExistingAction:
    """What the preview compares of an action the plan already has (plain values: no model objects to build)."""

    pk: int
    code: str
    objective_code: str
    title: str
    description: str
    owner: int | None  # the owner's pk
    owner_name: str
    start_date: datetime.date | None
    target_date: datetime.date | None
    update_frequency: int | None
    partners: list[tuple[str, str]] = field(default_factory=list)  # (organisation name, role)


def _existing(
    plan: Plan | None,
) -> tuple[dict[int, Priority], dict[str, Objective], dict[str, ExistingAction]]:
    """The plan's priorities by number, objectives by code and actions by code, in four queries."""
    if plan is None:
        return {}, {}, {}
    priorities = {p.number: p for p in Priority.objects.filter(plan=plan)}
    objectives: dict[str, Objective] = {}
    for objective in Objective.objects.filter(priority__plan=plan).select_related("priority"):
        objectives.setdefault(name_key(objective.code), objective)
    actions: dict[str, ExistingAction] = {}
    by_pk: dict[int, ExistingAction] = {}
    rows = Action.objects.filter(objective__priority__plan=plan).values_list(
        "pk",
        "code",
        "objective__code",
        "title",
        "description",
        "owner_id",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
        "start_date",
        "target_date",
        "update_frequency",
    )
    for pk, code, objective_code, title, description, owner, first, last, username, start, target, every in rows:
        name = person_name(first, last, username)
        action = ExistingAction(pk, code, objective_code, title, description, owner, name, start, target, every)
        by_pk[pk] = action
        actions.setdefault(name_key(code), action)
    partnerships = ActionPartner.objects.filter(action__objective__priority__plan=plan).values_list(
        "action_id", "organisation__name", "role"
    )
    for action_id, name, role in partnerships:
        by_pk[action_id].partners.append((name, role))
    return priorities, objectives, actions


def _parse_priority(row: PlanRow, text: str) -> int | None:
    if not text:
        row.error("priority", "Enter the priority's number.")
        return None
    number = text[len("priority") :].strip() if text.lower().startswith("priority") else text
    if not number.isdigit() or not 0 < int(number) <= PRIORITY_NUMBER_MAX:
        row.error("priority", f"“{text}” is not a priority number: use a whole number such as 5.")
        return None
    return int(number)


def _parse_code(row: PlanRow, column: str, what: str) -> str:
    code = " ".join(row.cells.get(column, "").split())
    if not code:
        row.error(column, f"Enter the {what}'s code.")
    elif len(code) > CODE_MAX_LENGTH:
        row.error(column, f"The {what}'s code must be {CODE_MAX_LENGTH} characters or fewer.")
        return ""
    return code


def _parse_text(row: PlanRow, column: str, what: str, limit: int, required: bool = True) -> str:
    text = row.cells.get(column, "")
    if not text and required:
        row.error(column, f"Enter the {what}.")
    elif len(text) > limit:
        row.error(column, f"The {what} must be {limit:,} characters or fewer.")
        return ""
    return text


def _parse_optional_date(row: PlanRow, column: str, cell: Any) -> datetime.date | None:
    if not cell_text(cell):
        return None
    date, problem = parse_date(cell)
    if date is None:
        assert problem is not None  # parse_date gives a date or says why not
        row.error(column, problem)
        return None
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        row.error(
            column, f"{display('date', date)} is not a plausible date: use a year from {FIRST_YEAR} to {LAST_YEAR}."
        )
        return None
    return date


class _Titles:
    """The titles the file gives priorities (or objectives): the same wherever given, required for a new one."""

    def __init__(self, kind: str, column: str, limit: int) -> None:
        self.kind, self.column, self.limit = kind, column, limit
        self.given: dict[Any, tuple[str, int]] = {}  # key -> (title, row number)
        self.first_row: dict[Any, tuple[PlanRow, Any]] = {}  # key -> (the first row naming it, how it is written)

    def check(self, row: PlanRow, key: Any, ident: Any) -> None:
        self.first_row.setdefault(key, (row, ident))
        title = _parse_text(row, self.column, f"{self.kind}'s title", self.limit, required=False)
        if not title:
            return
        if key in self.given and self.given[key][0] != title:
            given, number = self.given[key]
            row.error(self.column, f"Row {number} gives {self.kind} {ident} another title: “{given}”.")
        else:
            self.given.setdefault(key, (title, row.number))

    def finish(self, existing: dict[Any, Any]) -> dict[Any, str]:
        """{key: title} for every one the file names; a new one without a title is its first row's problem."""
        titles = {}
        for key, (row, ident) in self.first_row.items():
            if key in self.given:
                titles[key] = self.given[key][0]
            elif key in existing:
                titles[key] = existing[key].title
            else:
                row.error(self.column, f"Enter the title of the new {self.kind} {ident}.")
        return titles


def parse_plan_file(
    *,
    filename: str,
    content: bytes,
    plan: Plan | None = None,
    plan_title: str = "",
    create_organisations: Iterable[str] = (),
) -> PlanPreview:
    """Every row of the file with its problems and, where it is valid, what would be written.

    `plan` is the plan the file updates (None for a new one); `create_organisations` holds the names
    of the unknown organisations the person agreed to add (any other unknown one is a problem).
    """
    preview = PlanPreview(filename=filename, plan_title=plan.title if plan else plan_title)
    preview.confirmed_organisations = {name_key(name) for name in create_organisations}
    read = read_rows(preview, content, columns=COLUMNS, required=REQUIRED_COLUMNS, expected=COLUMNS, max_rows=MAX_ROWS)
    if preview.file_errors:
        return preview
    records = []
    for number, get in read:
        row = PlanRow(number=number, cells={name: cell_text(get.get(name)) for name in COLUMNS})
        records.append((row, get))
        preview.rows.append(row)
    if not preview.rows:
        preview.file_errors.append("The file has no rows of actions under its headings.")
        return preview

    organisations = _Organisations()
    owners = _owners(row.cells["owner"] for row in preview.rows)
    priorities, objectives, actions = _existing(plan)
    priority_titles = _Titles("priority", "priority title", PRIORITY_TITLE_MAX_LENGTH)
    objective_titles = _Titles("objective", "objective title", OBJECTIVE_TITLE_MAX_LENGTH)
    objective_priority: dict[str, tuple[int, int | None]] = {}  # key -> (priority number, row number, None: the plan)
    action_rows: dict[str, int] = {}  # action key -> row number

    for row, get in records:
        # Priority and objective: codes that clash with another row or with the plan.
        row.priority_number = _parse_priority(row, row.cells["priority"])
        row.objective_code = _parse_code(row, "objective", "objective")
        row.action_code = _parse_code(row, "action", "action")
        priority_number = row.priority_number
        if priority_number is not None:
            priority_titles.check(row, priority_number, priority_number)
        objective_key = name_key(row.objective_code)
        if row.objective_code and priority_number is not None:
            existing = objectives.get(objective_key)
            if objective_key not in objective_priority and existing is not None:
                objective_priority[objective_key] = (existing.priority.number, None)
            seen = objective_priority.setdefault(objective_key, (priority_number, row.number))
            if seen[0] != priority_number:
                where = f"row {seen[1]}" if seen[1] else "the plan"
                row.error(
                    "objective",
                    f"Objective {row.objective_code} is under priority {seen[0]} in {where}, "
                    f"not priority {priority_number}.",
                )
            else:
                objective_titles.check(row, objective_key, row.objective_code)
        if row.action_code:
            action_key = name_key(row.action_code)
            if action_key in action_rows:
                row.error(
                    "action",
                    f"Action {row.action_code} is also on row {action_rows[action_key]}: give each action one row.",
                )
            else:
                action_rows[action_key] = row.number
                row.action = actions.get(action_key)
            if row.action is not None and row.objective_code and name_key(row.action.objective_code) != objective_key:
                row.error(
                    "objective",
                    f"Action {row.action_code} is under objective {row.action.objective_code} in the plan: "
                    "move it on its edit page, or give that objective here.",
                )

        # The action's own fields.
        details = row.details
        details["title"] = _parse_text(row, "action title", "action's title", ACTION_TITLE_MAX_LENGTH)
        details["description"] = _parse_text(row, "description", "description", DESCRIPTION_MAX_LENGTH)
        details["owner"] = None
        owner_name = row.cells["owner"]
        if owner_name:
            matches = owners.get(name_key(owner_name), [])
            if not matches:
                row.error("owner", f"No user has the username or email address “{owner_name}”.")
            elif len(matches) > 1:
                row.error("owner", f"More than one user has the email address “{owner_name}”: use the username.")
            elif not matches[0].is_secretariat:
                row.error("owner", f"{matches[0]} is not an active member of the secretariat, who own actions.")
            else:
                details["owner"] = matches[0]
        details["start_date"] = _parse_optional_date(row, "start date", get.get("start date"))
        details["target_date"] = _parse_optional_date(row, "target date", get.get("target date"))
        if details["start_date"] and details["target_date"] and details["target_date"] < details["start_date"]:
            row.error("target date", "The target date is before the start date.")
        frequency = row.cells["update frequency"]
        details["update_frequency"] = None
        if frequency:
            details["update_frequency"] = FREQUENCIES.get(name_key(frequency))
            if details["update_frequency"] is None:
                row.error(
                    "update frequency", f"“{frequency}” is not an update frequency: use one of {FREQUENCY_LABELS}."
                )

        # Partners: known organisations, or new ones the person must confirm.
        roles: dict[int | str, tuple[Organisation | None, str]] = {}  # organisation's pk or new name's key -> role
        for column, role in PARTNER_COLUMNS:
            for name in row.cells[column].split(";"):
                name = " ".join(name.split())
                if not name:
                    continue
                organisation, problem = organisations.find(name)
                if problem:
                    row.error(column, problem)
                    continue
                if organisation is None and len(name) > ORGANISATION_NAME_MAX_LENGTH:
                    row.error(
                        column, f"An organisation's name must be {ORGANISATION_NAME_MAX_LENGTH} characters or fewer."
                    )
                    continue
                key = organisation.pk if organisation else name_key(name)
                if key in roles:
                    if roles[key][1] != role:
                        row.error(column, f"“{name}” is both a lead and a supporting partner: choose one.")
                    continue
                roles[key] = (organisation, role)
                if organisation is None:
                    preview.new_organisations.setdefault(key, name)
                    row.unknown_organisations.append((column, name))
        row.partners = [(organisation or key, role) for key, (organisation, role) in roles.items()]

        if row.action is not None and not row.errors:
            row.changes = _changes(row, preview)

    preview.priority_titles = priority_titles.finish(priorities)
    preview.objective_titles = objective_titles.finish(objectives)
    for number, title in preview.priority_titles.items():
        if number not in priorities:
            preview.new_priorities[number] = title
        elif priorities[number].title != title:
            preview.renamed.append((f"Priority {number}", priorities[number].title, title))
    for key, title in preview.objective_titles.items():
        existing = objectives.get(key)
        if existing is None:
            row, code = objective_titles.first_row[key]
            assert row.priority_number is not None  # an objective's title is checked on a row with a priority
            preview.new_objectives[key] = (code, row.priority_number, title)
        elif existing.title != title:
            preview.renamed.append((f"Objective {existing.code}", existing.title, title))
    return preview


def _changes(row: PlanRow, preview: PlanPreview) -> list[tuple[str, str, str]]:
    """(label, old, new) for each field the row changes on its existing action."""
    action = row.action
    assert action is not None  # called for a row that updates an action
    changes = []
    for name, new in row.details.items():
        old = getattr(action, name)
        if name == "owner":
            if old != (new.pk if new else None):
                changes.append((FIELD_LABELS[name], action.owner_name if old else "", display(name, new)))
        elif old != new:
            changes.append((FIELD_LABELS[name], display(name, old), display(name, new)))
    new_pairs = [
        (partner.name if isinstance(partner, Organisation) else preview.new_organisations[partner], role)
        for partner, role in row.partners
    ]
    if sorted(action.partners) != sorted(new_pairs):
        changes.append((FIELD_LABELS["partners"], partners_display(action.partners), partners_display(new_pairs)))
    return changes
