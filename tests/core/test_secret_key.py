"""The development SECRET_KEY: random per install, kept in var/, never a published default."""

from __future__ import annotations

import stat
from pathlib import Path

from config import secret_key


def test_a_fresh_install_gets_a_random_key_that_is_kept(tmp_path):
    path = tmp_path / "var" / "secret_key"
    # when
    first = secret_key.install_secret_key(path)
    again = secret_key.install_secret_key(path)
    # then
    assert len(first) >= 50
    assert again == first
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_installs_get_different_keys(tmp_path):
    assert secret_key.install_secret_key(tmp_path / "a" / "secret_key") != secret_key.install_secret_key(
        tmp_path / "b" / "secret_key"
    )


def test_the_settings_carry_no_published_default():
    source = (Path(secret_key.__file__).parent / "settings" / "base.py").read_text()
    assert 'env("DJANGO_SECRET_KEY", default="")' in source
    assert "insecure" not in source
