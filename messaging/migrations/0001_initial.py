# The models moved from priorities (Reminder, ReportLink, Notification, NotificationPreference): state only.
# Their tables, constraints and indexes stay as priorities made them (Meta.db_table names the old tables);
# priorities 0019 removes them from priorities' state once this has added them here.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('priorities', '0018_plan_choice_forget_visits'),
        ('tracker', '0007_request_count_site_pages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Reminder',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('claim_token', models.CharField(blank=True, help_text='The task sending the row.', max_length=64)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('message_id', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('recipient_email', models.EmailField(max_length=254)),
                        ('kind', models.CharField(choices=[('due_soon', 'Due soon'), ('overdue', 'Overdue'), ('escalation', 'Escalated to owner'), ('weekly_summary', 'Weekly summary'), ('manual', 'Sent by the secretariat')], max_length=20)),
                        ('cycle', models.DateField(help_text='The due date the reminder is about (the Monday for a weekly summary).')),
                        ('sequence', models.PositiveSmallIntegerField(default=0, help_text='Which overdue reminder about this due date: 1, 2, 3 ... (0 for the other kinds).')),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('skipped', 'Not sent: progress submitted'), ('archived', 'Not sent: action archived')], db_index=True, default='pending', max_length=10)),
                        ('action', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='priorities.action')),
                        ('organisation', models.ForeignKey(blank=True, help_text='The partner organisation the recipient reports for; blank for staff.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='tracker.organisation')),
                        ('recipient_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reminders', to=settings.AUTH_USER_MODEL)),
                        ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'priorities_reminder',
                        'ordering': ['-created_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='ReportLink',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('recipient_email', models.EmailField(max_length=254)),
                        ('origin', models.CharField(choices=[('reminder', 'In a reminder'), ('renewal', 'Asked for a new link')], default='reminder', max_length=10)),
                        ('nonce', models.CharField(max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField()),
                        ('used_at', models.DateTimeField(blank=True, null=True)),
                        ('action', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='report_links', to='priorities.action')),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tracker.organisation')),
                        ('recipient_user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('reminder', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='report_link', to='messaging.reminder')),
                        ('submission', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='report_link', to='priorities.submission')),
                    ],
                    options={
                        'db_table': 'priorities_reportlink',
                        'ordering': ['-created_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('claim_token', models.CharField(blank=True, help_text='The task sending the row.', max_length=64)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('message_id', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('key', models.CharField(help_text='The event and the recipient: written once.', max_length=200, unique=True)),
                        ('kind', models.CharField(choices=[('submitted', 'A partner reported progress or a value'), ('decided', 'A decision on a report you submitted'), ('link', 'A new link to report progress')], max_length=20)),
                        ('delivery', models.CharField(choices=[('now', 'As it happens'), ('digest', 'In a daily digest')], default='now', max_length=10)),
                        ('recipient_email', models.EmailField(max_length=254)),
                        ('subject', models.CharField(max_length=300)),
                        ('text', models.TextField(help_text="The email's paragraphs, written when the event happened.")),
                        ('link_url', models.CharField(blank=True, max_length=500)),
                        ('link_label', models.CharField(blank=True, max_length=100)),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('skipped', 'Not sent: progress submitted'), ('archived', 'Not sent: action archived')], db_index=True, default='pending', max_length=10)),
                        ('action', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='priorities.action')),
                        ('recipient_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'priorities_notification',
                        'ordering': ['-created_at', '-pk'],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('state', 'sent'), _negated=True), ('sent_at__isnull', False), _connector='OR'), name='notification_sent_has_sent_at')],
                    },
                ),
                migrations.CreateModel(
                    name='NotificationPreference',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('submitted', 'A partner reported progress or a value'), ('decided', 'A decision on a report you submitted'), ('link', 'A new link to report progress')], max_length=20)),
                        ('delivery', models.CharField(choices=[('now', 'As it happens'), ('digest', 'In a daily digest')], max_length=10)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notification_choices', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'priorities_notificationpreference',
                        'constraints': [models.UniqueConstraint(fields=('user', 'kind'), name='unique_notification_choice_per_kind')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='reminder',
                    constraint=models.UniqueConstraint(fields=('recipient_email', 'action', 'cycle', 'kind', 'sequence'), name='unique_reminder_per_cycle'),
                ),
                migrations.AddConstraint(
                    model_name='reminder',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'sent'), _negated=True), ('sent_at__isnull', False), _connector='OR'), name='reminder_sent_has_sent_at'),
                ),
                migrations.AddIndex(
                    model_name='reportlink',
                    index=models.Index(fields=['recipient_email', 'action', 'created_at'], name='report_link_person_action'),
                ),
            ],
        ),
    ]
