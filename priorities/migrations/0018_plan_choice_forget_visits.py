"""Forget the remembered plan choices written before the switcher alone wrote them (issue 22, item 10).

Until now any page opened with ?plan= was remembered as the person's choice, the page the
secretariat lands on after starting the next plan included: a row cannot tell a choice from a
visit. Each person sees the current plan again until they choose one in the switcher.
"""

from django.db import migrations


def forget_choices(apps, schema_editor):
    apps.get_model("priorities", "PlanChoice").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("priorities", "0017_reminder_sequence"),
    ]

    operations = [
        migrations.RunPython(forget_choices, migrations.RunPython.noop),
    ]
