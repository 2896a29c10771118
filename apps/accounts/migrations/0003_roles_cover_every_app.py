"""Re-apply the staff roles once every app's models (and so their permissions) exist.

0002 ran before the support, knowledge, observability, agents and evaluation
tables were created; this gives the groups the permissions `roles.py` lists for
them (support agents taking over chats in the console among them).
"""

from django.db import migrations


def sync(apps, schema_editor):
    from apps.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_staff_roles"),
        ("agents", "0002_conversation_memory"),
        ("commerce", "0002_return_item_exchange_variant"),
        ("conversations", "0002_conversationevent_feedback_replyflag"),
        ("evaluation", "0001_initial"),
        ("knowledge", "0001_initial"),
        ("observability", "0001_initial"),
        ("support", "0004_refund_approval_return_and_retries"),
    ]
    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
