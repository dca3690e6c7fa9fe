"""The one stored-upload import framework (tracker.imports) that the plan and the measurements imports plug into."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from indicators import services as indicator_services
from indicators.models import Measurement, MeasurementImport
from plan_imports import services as plan_services
from plan_imports.models import PlanImport
from priorities.models import Action
from tests.factories import MeasureFactory, OrganisationFactory, SecretariatFactory
from tests.indicators.hostile_files import zip_bomb
from tracker.imports import (
    ImportAlreadyConfirmed,
    ImportNotValid,
    ImportRefused,
    Preview,
    PreviewRow,
    upload_confirm,
    upload_store,
)
from tracker.models import Organisation

pytestmark = pytest.mark.django_db

PLAN_CSV = (
    b"priority,priority title,objective,objective title,action,action title,description,lead partners\n"
    b"1,Stronger partnerships,1.1,Work across borders,1.1.1,Joint teams,Set up joint teams.,Europol\n"
)
MEASUREMENTS_CSV = b"measure,period start,period end,value,source,note\nJoint teams,2024-01-01,2024-12-31,12,,\n"


def store_plan(content, by, filename="plan.csv"):
    return plan_services.plan_import_store(filename=filename, content=content, by=by, new_plan_title="Next plan")


def store_measurements(content, by, filename="values.csv"):
    return indicator_services.measurement_import_store(filename=filename, content=content, by=by)


IMPORTS = {
    # name: (store, confirm, what a confirmation writes, its upload page, its preview page, its file field's form)
    "plan": (
        store_plan,
        lambda upload, by: plan_services.plan_import_confirm(upload=upload, by=by),
        Action,
        "plan_imports:plan-import-upload",
        "plan_imports:plan-import-preview",
        {"plan": "new", "new_plan_title": "Next plan"},
    ),
    "measurements": (
        store_measurements,
        lambda upload, by: indicator_services.measurement_import_confirm(upload=upload, by=by),
        Measurement,
        "indicators:import-upload",
        "indicators:import-preview",
        {},
    ),
}


@pytest.fixture
def world(secretariat):
    OrganisationFactory(name="Europol", short_name="Europol", slug="europol")
    MeasureFactory(name="Joint teams")
    return secretariat


@pytest.mark.parametrize("name", IMPORTS)
def test_a_crafted_file_is_refused_with_one_clear_message_and_nothing_is_written(world, name):
    store, confirm, written, *_ = IMPORTS[name]
    upload = store(zip_bomb(), world, filename="crafted.xlsx")
    with pytest.raises(ImportNotValid) as refused:
        confirm(upload, world)
    assert isinstance(refused.value, ImportRefused)
    assert str(refused.value) == "The file has problems; nothing was written."
    assert len(refused.value.preview.file_errors) == 1 and not refused.value.preview.rows
    assert not written.objects.exists()
    upload.refresh_from_db()
    assert upload.confirmed_at is None and upload.rows_written == 0


@pytest.mark.parametrize("name", IMPORTS)
def test_a_crafted_upload_gets_one_message_and_stores_nothing(client, world, name):
    *_, upload_page, _, fields = IMPORTS[name]
    client.force_login(world)
    crafted = SimpleUploadedFile("values.csv.exe", b"MZ\x90\x00")
    response = client.post(reverse(upload_page), {**fields, "file": crafted})
    assert response.status_code == 400
    assert (
        response.content.decode().count("The file must be a CSV (.csv) or Excel (.xlsx) file.") == 2
    )  # summary, field
    assert not PlanImport.objects.exists() and not MeasurementImport.objects.exists()


@pytest.mark.parametrize("name", IMPORTS)
def test_a_second_confirmation_is_refused_and_writes_nothing_more(world, name):
    store, confirm, written, *_ = IMPORTS[name]
    upload = store(PLAN_CSV if name == "plan" else MEASUREMENTS_CSV, world)
    confirm(upload, world)
    assert upload.confirmed_at is not None and upload.rows_written == 1  # the caller's object is up to date
    with pytest.raises(ImportAlreadyConfirmed) as refused:
        confirm(upload, world)
    assert str(refused.value) == f"{upload.filename} was imported already: nothing more was written."
    assert written.objects.count() == 1


@pytest.mark.parametrize("name", IMPORTS)
def test_both_imports_show_the_same_preview_and_upload_pages(client, world, name):
    store, _, _, upload_page, preview_page, _ = IMPORTS[name]
    client.force_login(world)
    upload = store(b"nothing,useful\n1,2\n", world)
    response = client.get(reverse(preview_page, kwargs={"token": upload.token}))
    assert "tracker/imports/_preview.html" in [t.name for t in response.templates]
    assert "The first row must name the columns; missing:" in response.content.decode()
    assert "tracker/imports/_upload.html" in [t.name for t in client.get(reverse(upload_page)).templates]


def test_storing_forgets_the_same_imports_stale_unconfirmed_uploads_only(world):
    old = timezone.now() - datetime.timedelta(days=2)
    stale_plan = store_plan(PLAN_CSV, world)
    confirmed_plan = store_plan(PLAN_CSV, world)
    stale_values = store_measurements(MEASUREMENTS_CSV, world)
    PlanImport.objects.filter(pk=stale_plan.pk).update(uploaded_at=old)
    PlanImport.objects.filter(pk=confirmed_plan.pk).update(uploaded_at=old, confirmed_at=old)
    MeasurementImport.objects.filter(pk=stale_values.pk).update(uploaded_at=old)
    fresh = store_plan(PLAN_CSV, world)
    assert set(PlanImport.objects.values_list("pk", flat=True)) == {confirmed_plan.pk, fresh.pk}
    assert MeasurementImport.objects.filter(pk=stale_values.pk).exists()


def test_a_clash_while_writing_undoes_the_writing_and_says_why(world):
    upload = upload_store(model=MeasurementImport, filename="x" * 300 + ".csv", content=b"", by=SecretariatFactory())
    assert len(upload.filename) == 255

    def write(locked, preview, now):
        Organisation.objects.create(name="Written then undone", slug="undone")
        raise IntegrityError("someone else wrote it first")

    with pytest.raises(ImportNotValid) as refused:
        upload_confirm(
            upload=upload,
            check=lambda locked: Preview(filename=locked.filename, rows=[PreviewRow(number=2, cells={})]),
            write=write,
            races=(IntegrityError,),
            race_message="The data changed while you were checking the file: nothing was imported.",
        )
    assert refused.value.preview.file_errors == [
        "The data changed while you were checking the file: nothing was imported."
    ]
    assert not Organisation.objects.filter(slug="undone").exists()
    upload.refresh_from_db()
    assert upload.confirmed_at is None
