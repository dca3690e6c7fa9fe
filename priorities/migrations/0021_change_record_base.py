# The history models share tracker.history.ChangeRecord: only the help text of `via` changed (no SQL).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('priorities', '0020_move_plan_import'),
    ]

    operations = [
        migrations.AlterField(
            model_name='actionchange',
            name='via',
            field=models.CharField(default='web', help_text='Where the change was made: web, admin, import, command.', max_length=20),
        ),
        migrations.AlterField(
            model_name='planchange',
            name='via',
            field=models.CharField(default='web', help_text='Where the change was made: web, admin, import, command.', max_length=20),
        ),
    ]
