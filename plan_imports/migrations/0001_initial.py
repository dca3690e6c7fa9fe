# PlanImport moves here from priorities, keeping its table (priorities_planimport): state only.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("priorities", "0018_plan_choice_forget_visits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PlanImport",
                    fields=[
                        (
                            "token",
                            models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False),
                        ),
                        ("filename", models.CharField(max_length=255)),
                        ("content", models.BinaryField()),
                        ("uploaded_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                        ("rows_written", models.PositiveIntegerField(default=0)),
                        ("new_plan_title", models.CharField(blank=True, max_length=200)),
                        ("organisations_created", models.PositiveIntegerField(default=0)),
                        (
                            "plan",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="imports",
                                to="priorities.plan",
                            ),
                        ),
                        (
                            "uploaded_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="plan_imports",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "priorities_planimport",
                        "ordering": ["-uploaded_at"],
                        "abstract": False,
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("plan__isnull", False), models.Q(("new_plan_title", ""), _negated=True), _connector="OR"),
                                name="plan_import_has_a_plan_or_a_title",
                                violation_error_message="Choose a plan or give the new plan a title.",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
