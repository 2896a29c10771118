from django.db import migrations


def sync_roles(apps, schema_editor):
    from apps.accounts.roles import sync_roles as sync

    sync(apps)


class Migration(migrations.Migration):
    """Give the staff role groups the support permissions (decide, assign) now that the models exist."""

    dependencies = [
        ("support", "0001_initial"),
        ("accounts", "0002_staff_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
