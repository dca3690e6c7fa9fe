# Reminder, ReportLink, Notification and NotificationPreference now belong to the messaging app (its 0001,
# which runs first): removed from priorities' state only. Their tables stay, now named by messaging's
# Meta.db_table.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('priorities', '0018_plan_choice_forget_visits'),
        ('messaging', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='ReportLink'),
                migrations.DeleteModel(name='Reminder'),
                migrations.DeleteModel(name='Notification'),
                migrations.DeleteModel(name='NotificationPreference'),
            ],
        ),
    ]
