"""docs/configuration.md must name every environment variable the settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_CALL = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def _variables_read_by_settings() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names.update(ENV_CALL.findall(path.read_text()))
    return names


def test_every_setting_variable_is_documented():
    documented = (ROOT / "docs" / "configuration.md").read_text()

    missing = sorted(name for name in _variables_read_by_settings() if f"`{name}`" not in documented)

    assert missing == []


def test_the_readme_names_every_setting_variable_too():
    readme = (ROOT / "README.md").read_text()

    missing = sorted(name for name in _variables_read_by_settings() if f"`{name}`" not in readme)

    assert missing == []


def test_the_settings_read_variables_at_all():
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"} <= _variables_read_by_settings()
