"""Importing a plan from a spreadsheet: reading, every problem named by row and column, all or nothing."""

import csv
import datetime
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from plan_imports import reading as plan_import
from plan_imports import services
from plan_imports.models import PlanImport
from plan_imports.reading import COLUMNS, parse_plan_file
from priorities.models import (
    Action,
    ActionChange,
    ActionPartner,
    Objective,
    Plan,
    Priority,
    UpdateFrequency,
)
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    PlanFactory,
    PriorityFactory,
    SecretariatFactory,
)
from tests.indicators.hostile_files import entity_expansion, zip_bomb
from tracker.models import Organisation

pytestmark = pytest.mark.django_db


def row(**cells):
    """A row of the file as a dict by column: a valid new action unless told otherwise."""
    values = {
        "priority": "1",
        "priority title": "Stronger partnerships",
        "objective": "1.1",
        "objective title": "Work across borders",
        "action": "1.1.1",
        "action title": "Joint teams",
        "description": "Set up joint investigation teams.",
        "lead partners": "Europol",
        "supporting partners": "Eurojust; NCA",
        "owner": "sec",
        "start date": "2027-01-01",
        "target date": "2028-12-31",
        "update frequency": "Quarterly",
    }
    values.update(cells)
    return values


def csv_bytes(rows, headings=COLUMNS):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows([[r.get(h, "") for h in headings] for r in rows])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows, headings=COLUMNS):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headings))
    for r in rows:
        sheet.append([r.get(h, "") for h in headings])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_of(preview):
    return {(r.number, column): message for r, errors in preview.error_rows for column, message in errors}


@pytest.fixture
def partners(db):
    return {
        "europol": OrganisationFactory(name="Europol", short_name="Europol", slug="europol"),
        "eurojust": OrganisationFactory(name="Eurojust", short_name="", slug="eurojust"),
        "nca": OrganisationFactory(name="National Crime Agency", short_name="NCA", slug="nca"),
    }


def parse(rows, plan=None, **kwargs):
    return parse_plan_file(filename="plan.csv", content=csv_bytes(rows), plan=plan, plan_title="New plan", **kwargs)


def store(rows, by, plan=None, filename="plan.csv", content=None):
    content = csv_bytes(rows) if content is None else content
    return services.plan_import_store(
        filename=filename, content=content, by=by, plan=plan, new_plan_title="" if plan else "Plan 2027 to 2030"
    )


# --- reading --------------------------------------------------------------------------------------


def test_a_good_file_previews_without_problems(secretariat, partners):
    preview = parse([row(), row(action="1.1.2", **{"action title": "Training", "lead partners": "", "owner": ""})])
    assert preview.is_valid, errors_of(preview)
    assert (preview.additions, preview.updates, preview.unchanged) == (2, 0, 0)
    first = preview.rows[0]
    assert first.number == 2
    assert first.details == {
        "title": "Joint teams",
        "description": "Set up joint investigation teams.",
        "owner": secretariat,
        "start_date": datetime.date(2027, 1, 1),
        "target_date": datetime.date(2028, 12, 31),
        "update_frequency": UpdateFrequency.QUARTERLY,
    }
    assert first.partners == [
        (partners["europol"], ActionPartner.Role.LEAD),
        (partners["eurojust"], ActionPartner.Role.SUPPORTING),
        (partners["nca"], ActionPartner.Role.SUPPORTING),
    ]
    assert preview.new_priorities == {1: "Stronger partnerships"}
    assert preview.new_objectives == {"1.1": ("1.1", 1, "Work across borders")}


def test_excel_dates_headings_in_any_order_and_case_and_owner_by_email(secretariat, partners):
    headings = [heading.upper() for heading in reversed(COLUMNS)]
    cells = row(**{"start date": datetime.datetime(2027, 3, 1), "owner": "SEC@example.org", "priority": 1})
    content = xlsx_bytes([{h.upper(): v for h, v in cells.items()}], headings=headings)
    preview = parse_plan_file(filename="plan.xlsx", content=content, plan_title="New")
    assert preview.is_valid, errors_of(preview)
    assert preview.rows[0].details["start_date"] == datetime.date(2027, 3, 1)
    assert preview.rows[0].details["owner"] == secretariat


def test_titles_need_giving_once_and_blank_optional_cells_are_fine(secretariat, partners):
    second = row(
        action="1.1.2",
        **{
            "priority title": "",
            "objective title": "",
            "lead partners": "",
            "supporting partners": "",
            "owner": "",
            "start date": "",
            "target date": "",
            "update frequency": "",
        },
    )
    preview = parse([row(), second])
    assert preview.is_valid, errors_of(preview)
    assert preview.rows[1].details["update_frequency"] is None
    assert preview.rows[1].partners == []


# Each kind of problem, named by row and column. Row 2 is the first row of actions.
PROBLEMS = {
    "unknown owner": ({"owner": "nobody"}, "owner", "No user has the username or email address “nobody”."),
    "owner not in the secretariat": ({"owner": "partner-a"}, "owner", "is not an active member of the secretariat"),
    "a date that is not a date": ({"start date": "soon"}, "start date", "“soon” is not a date"),
    "an implausible year": ({"target date": "9999-01-01"}, "target date", "use a year from 1900 to 2999"),
    "target before start": ({"target date": "2026-01-01"}, "target date", "The target date is before the start date."),
    "unknown update frequency": ({"update frequency": "Weekly"}, "update frequency", "use one of Monthly, Quarterly"),
    "priority not a number": ({"priority": "five"}, "priority", "“five” is not a priority number"),
    "no action code": ({"action": ""}, "action", "Enter the action's code."),
    "a code too long": ({"action": "1." * 15}, "action", "20 characters or fewer"),
    "no action title": ({"action title": ""}, "action title", "Enter the action's title."),
    "no description": ({"description": ""}, "description", "Enter the description."),
    "new priority without a title": (
        {"priority": "2", "priority title": "", "objective": "2.1"},
        "priority title",
        "Enter the title of the new priority 2.",
    ),
    "new objective without a title": (
        {"objective": "1.2", "objective title": ""},
        "objective title",
        "Enter the title of the new objective 1.2.",
    ),
    "lead and supporting": (
        {"supporting partners": "Europol"},
        "supporting partners",
        "“Europol” is both a lead and a supporting partner",
    ),
    "unknown organisation": ({"lead partners": "Interpol"}, "lead partners", "No organisation is called “Interpol”"),
}


@pytest.mark.parametrize("name", PROBLEMS)
def test_each_problem_names_its_row_and_column(secretariat, partners, partner_a, name):
    cells, column, message = PROBLEMS[name]
    preview = parse([row(action="1.1.0"), row(**cells)])
    problems = errors_of(preview)
    assert list(problems) == [(3, column)], problems
    assert message in problems[(3, column)]
    assert not preview.is_valid


def test_codes_that_clash_within_the_file(secretariat, partners):
    preview = parse(
        [
            row(),
            row(),  # the same action twice
            row(priority="2", **{"priority title": "Other", "action": "1.1.9"}),  # objective 1.1 under priority 2
            row(action="1.1.3", **{"priority title": "Another title"}),
        ]
    )
    assert errors_of(preview) == {
        (3, "action"): "Action 1.1.1 is also on row 2: give each action one row.",
        (4, "objective"): "Objective 1.1 is under priority 1 in row 2, not priority 2.",
        (5, "priority title"): "Row 2 gives priority 1 another title: “Stronger partnerships”.",
    }


def test_codes_that_clash_with_the_plan(secretariat, partners):
    plan = PlanFactory()
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=1), code="1.1")
    ObjectiveFactory(priority=objective.priority, code="1.2")
    ActionFactory(objective=objective, code="1.1.7")
    preview = parse(
        [row(objective="1.1", priority="2", **{"priority title": "P2"}), row(objective="1.2", action="1.1.7")],
        plan=plan,
    )
    assert errors_of(preview) == {
        (2, "objective"): "Objective 1.1 is under priority 1 in the plan, not priority 2.",
        (3, "objective"): "Action 1.1.7 is under objective 1.1 in the plan: move it on its edit page, or give "
        "that objective here.",
    }


def test_an_ambiguous_short_name_is_a_problem(secretariat, partners):
    OrganisationFactory(name="National Cyber Agency", short_name="NCA", slug="nca-2")
    preview = parse([row()])
    assert "is the short name of more than one organisation" in errors_of(preview)[(2, "supporting partners")]


def test_file_problems(secretariat):
    missing = parse_plan_file(filename="p.csv", content=b"priority,objective\n1,1.1\n")
    assert missing.file_errors == [
        "The first row must name the columns; missing: action, action title, description. "
        f"Expected: {', '.join(COLUMNS)}."
    ]
    assert parse_plan_file(filename="p.csv", content=b"").file_errors == ["The file is empty."]
    empty = parse_plan_file(filename="p.csv", content=csv_bytes([]))
    assert empty.file_errors == ["The file has no rows of actions under its headings."]
    assert parse_plan_file(filename="p.xls", content=b"x").file_errors == [
        "Old Excel files (.xls) cannot be read: save it as .xlsx or CSV."
    ]


def test_files_over_the_row_limit_are_refused(secretariat, partners, monkeypatch):
    monkeypatch.setattr(plan_import, "MAX_ROWS", 10)
    rows = [row(action=f"1.1.{n}") for n in range(11)]
    for filename, content in (("p.csv", csv_bytes(rows)), ("p.xlsx", xlsx_bytes(rows))):
        preview = parse_plan_file(filename=filename, content=content)
        assert preview.file_errors == ["The file has more than 10 rows: import at most 10 at a time."]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (", ".join(COLUMNS).encode() + b"\n" + b"\n" * (10 * 1024 * 1024 - 200), "more than 50,000 rows"),
        (b"priority,objective\x00\n", "NUL characters"),
        (",".join(COLUMNS).encode() + b"\n" + b"x" * 200_000, "not valid CSV"),
    ],
    ids=["newlines", "NUL bytes", "huge field"],
)
def test_a_hostile_csv_is_refused_clearly(secretariat, content, message):
    preview = parse_plan_file(filename="hostile.csv", content=content)
    assert len(preview.file_errors) == 1 and message in preview.file_errors[0]
    assert preview.rows == []


def test_the_queries_do_not_grow_with_the_rows(secretariat, partners, django_assert_max_num_queries):
    plan = PlanFactory()
    objective = ObjectiveFactory(
        priority=PriorityFactory(plan=plan, number=1, title="Stronger partnerships"), code="1.1"
    )
    for n in range(5):
        ActionPartnerFactory(action=ActionFactory(objective=objective, code=f"1.1.{n}"), organisation=partners["nca"])
    for count in (5, 300):
        content = csv_bytes([row(action=f"1.1.{n}") for n in range(count)])
        with django_assert_max_num_queries(6):
            preview = parse_plan_file(filename="p.csv", content=content, plan=plan)
        assert preview.can_confirm


# --- confirming -----------------------------------------------------------------------------------


def test_confirm_writes_a_new_plan_through_the_services(secretariat, partners):
    upload = store([row(), row(action="1.1.2", **{"action title": "Training", "lead partners": ""})], secretariat)
    done = services.plan_import_confirm(upload=upload, by=secretariat)
    plan = Plan.objects.get(title="Plan 2027 to 2030")
    assert done.plan == plan and done.rows_written == 2 and done.confirmed_at
    priority = Priority.objects.get(plan=plan)
    assert (priority.number, priority.title) == (1, "Stronger partnerships")
    objective = Objective.objects.get(priority=priority)
    assert (objective.code, objective.title) == ("1.1", "Work across borders")
    action = Action.objects.get(objective=objective, code="1.1.1")
    assert action.owner == secretariat
    assert action.update_frequency == UpdateFrequency.QUARTERLY
    assert action.next_update_due is not None
    assert sorted(action.partnerships.values_list("organisation__name", "role")) == [
        ("Eurojust", "supporting"),
        ("Europol", "lead"),
        ("National Crime Agency", "supporting"),
    ]
    history = ActionChange.objects.filter(action=action)
    assert set(history.values_list("via", flat=True)) == {"import"}
    assert set(history.values_list("field", flat=True)) == {"created", "partners"}
    assert set(history.values_list("changed_by", flat=True)) == {secretariat.pk}
    with pytest.raises(services.PlanImportAlreadyConfirmed):
        services.plan_import_confirm(upload=upload, by=secretariat)
    assert Action.objects.count() == 2


def test_the_outline_history_records_what_an_import_adds_and_renames(secretariat, partners):
    from priorities.models import PlanChange

    services.plan_import_confirm(upload=store([row()], secretariat), by=secretariat)
    plan = Plan.objects.get(title="Plan 2027 to 2030")
    created = set(PlanChange.objects.filter(plan=plan, field="created").values_list("item_kind", "item_label"))
    assert created == {("plan", "Plan 2027 to 2030"), ("priority", "Priority 1"), ("objective", "Objective 1.1")}
    renamed = row(**{"priority title": "Stronger partners", "objective title": "Across borders"})
    services.plan_import_confirm(upload=store([renamed], secretariat, plan=plan), by=secretariat)
    titles = PlanChange.objects.filter(plan=plan, field="title").exclude(old_value="")
    assert sorted(titles.values_list("item_label", "old_value", "new_value", "via", "changed_by")) == [
        ("Objective 1.1", "Work across borders", "Across borders", "import", secretariat.pk),
        ("Priority 1", "Stronger partnerships", "Stronger partners", "import", secretariat.pk),
    ]


def test_a_file_with_one_bad_row_writes_nothing(secretariat, partners):
    rows = [row(action=f"1.1.{n}") for n in range(20)]
    rows[12]["start date"] = "31/02/2027"
    upload = store(rows, secretariat)
    with pytest.raises(services.PlanImportNotValid) as refused:
        services.plan_import_confirm(upload=upload, by=secretariat)
    assert list(errors_of(refused.value.preview)) == [(14, "start date")]
    assert not Plan.objects.exists() and not Action.objects.exists() and not ActionChange.objects.exists()
    upload.refresh_from_db()
    assert upload.confirmed_at is None


def test_a_failure_while_writing_undoes_everything(secretariat, partners, monkeypatch):
    real = services.action_create
    calls = []

    def failing(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ValidationError({"code": "Refused by the database."})
        return real(**kwargs)

    monkeypatch.setattr(services, "action_create", failing)
    upload = store([row(action=f"1.1.{n}", **{"lead partners": "Interpol"}) for n in range(5)], secretariat)
    with pytest.raises(services.PlanImportNotValid) as refused:
        services.plan_import_confirm(upload=upload, by=secretariat, create_organisations=["Interpol"])
    assert "Nothing was imported" in refused.value.preview.file_errors[0]
    assert not Plan.objects.exists() and not Action.objects.exists() and not ActionChange.objects.exists()
    assert not Organisation.objects.filter(name="Interpol").exists()


def test_existing_codes_are_changes_field_by_field_and_new_codes_additions(secretariat, partners):
    plan = PlanFactory()
    priority = PriorityFactory(plan=plan, number=1, title="Old priority title")
    objective = ObjectiveFactory(priority=priority, code="1.1", title="Work across borders")
    other = SecretariatFactory(username="other")
    changed = ActionFactory(
        objective=objective,
        code="1.1.1",
        title="Old title",
        description="Set up joint investigation teams.",
        owner=other,
        start_date=datetime.date(2027, 1, 1),
        target_date=datetime.date(2028, 12, 31),
        update_frequency=UpdateFrequency.QUARTERLY,
    )
    ActionPartnerFactory(action=changed, organisation=partners["europol"], role=ActionPartner.Role.SUPPORTING)
    same = ActionFactory(
        objective=objective,
        code="1.1.2",
        title="Training",
        description="Train.",
        owner=secretariat,
        start_date=datetime.date(2027, 1, 1),
        target_date=datetime.date(2028, 12, 31),
        update_frequency=UpdateFrequency.QUARTERLY,
    )
    ActionPartnerFactory(action=same, organisation=partners["nca"], role=ActionPartner.Role.LEAD)
    rows = [
        row(),
        row(
            action="1.1.2",
            description="Train.",
            **{"action title": "Training", "lead partners": "NCA", "supporting partners": ""},
        ),
        row(action="1.1.3", **{"action title": "New one"}),
    ]
    preview = parse(rows, plan=plan)
    assert preview.is_valid, errors_of(preview)
    assert (preview.additions, preview.updates, preview.unchanged) == (1, 1, 1)
    assert preview.rows[0].changes == [
        ("Title", "Old title", "Joint teams"),
        ("Owner", str(other), str(secretariat)),
        (
            "Partners",
            "Europol (supporting)",
            "Eurojust (supporting); Europol (lead); National Crime Agency (supporting)",
        ),
    ]
    assert preview.renamed == [("Priority 1", "Old priority title", "Stronger partnerships")]

    upload = store(rows, secretariat, plan=plan)
    services.plan_import_confirm(upload=upload, by=secretariat)
    changed.refresh_from_db()
    assert (changed.title, changed.owner) == ("Joint teams", secretariat)
    assert changed.partnerships.get(organisation=partners["europol"]).role == ActionPartner.Role.LEAD
    history = {c.field: (c.old_value, c.new_value, c.via) for c in ActionChange.objects.filter(action=changed)}
    assert history["title"] == ("Old title", "Joint teams", "import")
    assert set(history) == {"title", "owner", "partners"}
    assert not ActionChange.objects.filter(action=same).exists()
    assert Action.objects.filter(objective=objective, code="1.1.3").exists()
    priority.refresh_from_db()
    assert priority.title == "Stronger partnerships"


def test_unknown_organisations_are_created_only_when_ticked(secretariat, partners):
    rows = [row(**{"lead partners": "Interpol"}), row(action="1.1.2", **{"supporting partners": "interpol; UNODC"})]
    preview = parse(rows)
    assert preview.can_confirm and not preview.is_valid
    assert preview.new_organisations == {"interpol": "Interpol", "unodc": "UNODC"}
    assert set(errors_of(preview)) == {(2, "lead partners"), (3, "supporting partners")}

    upload = store(rows, secretariat)
    with pytest.raises(services.PlanImportNotValid) as refused:
        services.plan_import_confirm(upload=upload, by=secretariat, create_organisations=["INTERPOL"])
    assert errors_of(refused.value.preview) == {
        (3, "supporting partners"): "No organisation is called “UNODC”: tick it under New organisations to add it, "
        "or correct the name."
    }
    assert not Action.objects.exists() and not Organisation.objects.filter(name="Interpol").exists()

    done = services.plan_import_confirm(upload=upload, by=secretariat, create_organisations=["Interpol", "UNODC"])
    assert done.organisations_created == 2
    interpol = Organisation.objects.get(name="Interpol")
    assert interpol.slug == "interpol"
    assert ActionPartner.objects.filter(organisation=interpol).count() == 2


def says_tick(html):
    """Whether a page tells the reader to tick something: the word, not four letters that a random CSRF token
    may hold (a run on PostgreSQL failed on a token containing "...nfotickxq...")."""
    return re.search(r"\btick", html, re.IGNORECASE) is not None


def test_says_tick_reads_words_not_tokens():
    assert says_tick("Tick it under New organisations") and says_tick("<p>tick the box</p>")
    assert not says_tick('<input type="hidden" name="csrfmiddlewaretoken" value="nfoTickxq3hwom">')


def test_the_preview_never_asks_to_tick_a_box_it_does_not_show(client, secretariat, partners):
    """With other problems the organisation boxes are not shown: no message may say to tick them."""
    client.force_login(secretariat)
    upload_file(client, [row(**{"lead partners": "Interpol"}), row(action="1.1.2", owner="nobody")])
    upload = PlanImport.objects.get()
    preview = client.get(upload.get_absolute_url()).content.decode()
    assert 'name="create_organisation"' not in preview and 'id="new-organisations"' not in preview
    assert not says_tick(preview)
    assert "No organisation is called “Interpol”: correct the name, or add it as a new organisation once" in preview
    for page in (
        client.get(upload.get_absolute_url(), {"show": "errors"}).content.decode(),
        client.post(reverse("plan_imports:plan-import-confirm", kwargs={"token": upload.token})).content.decode(),
    ):
        assert 'name="create_organisation"' not in page and not says_tick(page)
    report = client.get(reverse("plan_imports:plan-import-errors", kwargs={"token": upload.token}))
    assert not says_tick(b"".join(report.streaming_content if report.streaming else [report.content]).decode())
    # Once only the organisation is unknown, the box is there, and the messages point to it.
    response = upload_file(client, [row(**{"lead partners": "Interpol"})])
    preview = client.get(response["Location"]).content.decode()
    assert 'name="create_organisation" type="checkbox" value="Interpol"' in preview
    assert "Lead partners: No organisation is called “Interpol”: tick it under New organisations" in preview
    assert "Rows naming one you do not tick are not imported" not in preview  # nothing is, while one is left


# --- pages ----------------------------------------------------------------------------------------


def upload_file(client, rows, **data):
    content = csv_bytes(rows)
    data = {"plan": "new", "new_plan_title": "Plan 2027 to 2030", **data}
    return client.post(
        reverse("plan_imports:plan-import-upload"),
        {**data, "file": SimpleUploadedFile("plan.csv", content, content_type="text/csv")},
    )


def test_upload_preview_confirm_and_done(client, secretariat, partners):
    client.force_login(secretariat)
    page = client.get(reverse("plan_imports:plan-import-upload")).content.decode()
    assert "lead partners" in page and "Every six months" in page
    response = upload_file(client, [row(**{"lead partners": "Interpol"})])
    upload = PlanImport.objects.get()
    assert response.status_code == 302 and response["Location"] == upload.get_absolute_url()
    preview = client.get(upload.get_absolute_url()).content.decode()
    assert "No organisation is called “Interpol” (row 2): tick it under New organisations" in preview
    assert "Lead partners: No organisation is called “Interpol”" in preview
    assert 'name="create_organisation" type="checkbox" value="Interpol"' in preview
    confirm = reverse("plan_imports:plan-import-confirm", kwargs={"token": upload.token})
    refused = client.post(confirm)
    assert refused.status_code == 400 and "No organisation is called “Interpol” (row 2)" in refused.content.decode()
    assert not Action.objects.exists()
    response = client.post(confirm, {"create_organisation": "Interpol"})
    assert response.status_code == 302
    done = client.get(upload.get_absolute_url()).content.decode()
    assert "1 action added or changed in Plan 2027 to 2030" in done
    assert Action.objects.get().partnerships.filter(organisation__name="Interpol", role="lead").exists()
    again = client.post(confirm, {"create_organisation": "Interpol"}, follow=True)
    assert "was imported already" in again.content.decode()
    assert Action.objects.count() == 1


def test_the_upload_form_refuses_clearly(client, secretariat):
    client.force_login(secretariat)
    no_title = upload_file(client, [row()], new_plan_title=" ")
    assert no_title.status_code == 400 and "Enter the title of the new plan." in no_title.content.decode()
    bad_plan = upload_file(client, [row()], plan="99999")
    assert bad_plan.status_code == 400 and "Choose one of the plans listed" in bad_plan.content.decode()
    response = client.post(
        reverse("plan_imports:plan-import-upload"),
        {"plan": "new", "new_plan_title": "P", "file": SimpleUploadedFile("plan.txt", b"x")},
    )
    assert response.status_code == 400 and "must be a CSV (.csv) or Excel (.xlsx) file" in response.content.decode()
    assert not PlanImport.objects.exists()


def test_the_preview_names_problems_and_the_error_report_lists_every_one(client, secretariat, partners):
    rows = [row(action=f"1.1.{n}", owner="nobody") for n in range(150)]
    upload = store(rows, secretariat, filename='bad "name"\r\n.csv')
    client.force_login(secretariat)
    page = client.get(upload.get_absolute_url()).content.decode()
    assert "Row 2, owner: No user has the username or email address “nobody”." in page
    assert "50 more are not shown here" in page
    assert "Confirm and import" not in page
    report = client.get(reverse("plan_imports:plan-import-errors", kwargs={"token": upload.token}))
    assert report["Content-Disposition"] == 'attachment; filename="plan-import-problems-bad-name-.csv"'
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "problem", "priority", "objective", "action"]
    assert len(lines) == 151 and lines[1][:2] == ["2", "owner"]


def test_someone_elses_upload_is_a_404(client, secretariat, partners):
    upload = store([row()], secretariat)
    client.force_login(SecretariatFactory(username="colleague"))
    assert client.get(upload.get_absolute_url()).status_code == 404
    assert client.post(reverse("plan_imports:plan-import-confirm", kwargs={"token": upload.token})).status_code == 404
    assert not Action.objects.exists()


@pytest.mark.parametrize("who", ["commissioner", "partner"])
def test_only_the_secretariat_imports_a_plan(client, secretariat, commissioner, who):
    upload = store([row()], secretariat)
    client.force_login(commissioner if who == "commissioner" else PartnerFactory())
    for url in (
        reverse("plan_imports:plan-import-upload"),
        reverse("plan_imports:plan-import-template", args=["csv"]),
        upload.get_absolute_url(),
        reverse("plan_imports:plan-import-errors", kwargs={"token": upload.token}),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("plan_imports:plan-import-confirm", kwargs={"token": upload.token})).status_code == 403
    assert not Action.objects.exists()


@pytest.mark.parametrize("make", [entity_expansion, zip_bomb], ids=["entity expansion", "zip bomb"])
def test_a_stored_hostile_workbook_is_refused_on_every_visit_and_nothing_is_written(client, secretariat, make):
    upload = store([], secretariat, filename="bomb.xlsx", content=make())
    client.force_login(secretariat)
    page = client.get(upload.get_absolute_url())
    assert page.status_code == 200 and "There is a problem: nothing has been imported" in page.content.decode()
    response = client.post(reverse("plan_imports:plan-import-confirm", kwargs={"token": upload.token}))
    assert response.status_code == 400
    assert not Plan.objects.exists() and not Action.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_has_the_columns_and_an_example_row_that_imports(client, secretariat, partners, fmt):
    client.force_login(secretariat)
    page = client.get(reverse("plan_imports:plan-import-upload")).content.decode()
    url = reverse("plan_imports:plan-import-template", args=[fmt])
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response["Content-Disposition"] == f'attachment; filename="plan-template.{fmt}"'
    content = b"".join(response.streaming_content) if response.streaming else response.getvalue()
    if fmt == "xlsx":
        headings = [cell.value for cell in next(load_workbook(io.BytesIO(content)).active.iter_rows())]
        assert headings == list(COLUMNS)
    preview = parse_plan_file(filename=f"template.{fmt}", content=content, plan_title="New")
    assert preview.is_valid, errors_of(preview)
    assert not preview.ignored_columns
    assert preview.rows[0].details["owner"] == secretariat
    assert client.get(reverse("plan_imports:plan-import-template", args=["pdf"])).status_code == 404


def test_the_preview_page_queries_do_not_grow_with_the_rows(
    client, secretariat, partners, django_assert_max_num_queries
):
    client.force_login(secretariat)
    for count in (5, 300):
        upload = store([row(action=f"1.1.{n}") for n in range(count)], secretariat)
        with django_assert_max_num_queries(6):
            response = client.get(upload.get_absolute_url())
        assert response.status_code == 200 and "Confirm and import" in response.content.decode()


def test_an_import_leaves_the_stored_status_counts_right(secretariat, partners):
    from priorities.models import ObjectiveStatusCount

    rows = [row(), row(action="1.1.2"), row(objective="1.2", **{"objective title": "Second", "action": "1.2.1"})]
    services.plan_import_confirm(upload=store(rows, secretariat), by=secretariat)
    plan = Plan.objects.get(title="Plan 2027 to 2030")
    counts = ObjectiveStatusCount.objects.filter(objective__priority__plan=plan).by_objective()
    assert sorted(counts.values(), key=str) == [{"not_started": 1}, {"not_started": 2}]
    assert ObjectiveStatusCount.objects.differences() == []
