"""Several writes of one message wait together for one yes: a position per held action."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0002_conversation_memory"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="pendingaction",
            name="pending_action_one_per_conversation",
        ),
        migrations.AddField(
            model_name="pendingaction",
            name="position",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="pendingaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")),
                fields=("conversation", "position"),
                name="pending_action_one_per_position",
            ),
        ),
    ]
