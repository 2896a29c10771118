from django.db import migrations


def sync_roles(apps, schema_editor):
    from apps.accounts.roles import sync_roles as sync

    sync(apps)


class Migration(migrations.Migration):
    """Support staff may read and add internal notes and read saved replies; leads maintain them."""

    dependencies = [("support", "0005_console_notes_saved_replies")]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
