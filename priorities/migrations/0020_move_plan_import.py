# PlanImport moved to plan_imports (its 0001 takes it over with the same table): state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("priorities", "0019_move_messaging_models"),
        ("plan_imports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PlanImport")],
            database_operations=[],
        ),
    ]
