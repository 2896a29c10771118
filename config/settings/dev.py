"""Local development: `make run`."""

from config.secret_key import install_secret_key

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True


# This install's own random key (var/secret_key) unless DJANGO_SECRET_KEY is set.
SECRET_KEY = SECRET_KEY or install_secret_key(VAR_DIR / "secret_key")
