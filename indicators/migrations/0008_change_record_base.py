# The history models share tracker.history.ChangeRecord: only the help text of `via` changed (no SQL).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('indicators', '0007_archive_indicators'),
    ]

    operations = [
        migrations.AlterField(
            model_name='indicatorchange',
            name='via',
            field=models.CharField(default='web', help_text='Where the change was made: web, admin, import, command.', max_length=20),
        ),
    ]
