# Names left in the outbox's rows were recorded as "priorities.Notification" ...: those models are messaging's
# now (messaging 0001), and a mention must name its model as the app registry does to be opened and resolved.

from django.db import migrations

MOVED = ["Reminder", "ReportLink", "Notification", "NotificationPreference"]


def _relabel(apps, *, old, new):
    RemainingMention = apps.get_model("privacy", "RemainingMention")
    for name in MOVED:
        RemainingMention.objects.filter(model=f"{old}.{name}").update(model=f"{new}.{name}")


def forwards(apps, schema_editor):
    _relabel(apps, old="priorities", new="messaging")


def backwards(apps, schema_editor):
    _relabel(apps, old="messaging", new="priorities")


class Migration(migrations.Migration):

    dependencies = [
        ("privacy", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
