# The moved model's content type follows it to plan_imports, so its permissions (and the admin's log
# entries about their rows) stay theirs: without this, migrate would make new content types and
# permissions for plan_imports and leave the old ones, and whoever was given them, pointing at nothing.
# A fresh database has no content types yet at this point: nothing to do there.

from django.db import migrations

MODELS = ["planimport"]


def _move(apps, *, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(ContentType.objects.filter(app_label=new, model__in=MODELS).values_list("model", flat=True))
    ContentType.objects.filter(app_label=old, model__in=set(MODELS) - taken).update(app_label=new)


def forwards(apps, schema_editor):
    _move(apps, old="priorities", new="plan_imports")


def backwards(apps, schema_editor):
    _move(apps, old="plan_imports", new="priorities")


class Migration(migrations.Migration):

    dependencies = [
        ("plan_imports", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
