from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0004_conversation_client_ip"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="last_seq",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        # The counter starts at each conversation's last seq (services._next_seq also takes the max over its
        # messages, so a row stored without the counter never makes a seq repeat).
        migrations.RunSQL(
            "UPDATE conversations_conversation c SET last_seq = m.last"
            " FROM (SELECT conversation_id, max(seq) AS last FROM conversations_message GROUP BY conversation_id) m"
            " WHERE m.conversation_id = c.id",
            migrations.RunSQL.noop,
        ),
    ]
