"""pytest: a throwaway PostgreSQL+pgvector and Redis started by `make test`.

The test launcher (`python -m config.devstack test`) exports DATABASE_URL and
REDIS_URL pointing at servers of the test run's own, so nothing here can touch
the developer's data. Running pytest without it is refused.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if os.environ.get("SWITCHBOARD_TEST_STACK") != "1":
    raise ImproperlyConfigured(
        "Tests need their own PostgreSQL and Redis: run `make test` (or `make test ARGS='tests/commerce -k cancel'`)."
    )

from .base import *  # noqa: F403
from .base import CHANNEL_LAYERS, LOGGING, REDIS_URL, VAR_DIR, env

# Each xdist worker gets its own Redis database index so cache and rate-limit
# keys never leak between workers.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_redis_db = 1 + int(_worker or 0)
REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{_redis_db}"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sbtest",
    }
}
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
    {**CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0], "address": REDIS_URL}
]
# Pub/sub channels ignore the database index: each xdist worker's groups get a prefix of their own.
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"sbtest{_redis_db}-"
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECRET_KEY = "test-secret-key-not-for-production-use-0123456789"  # noqa: S105
SENTRY_DSN = ""
LOGGING["root"]["level"] = env("LOG_LEVEL", default="WARNING")
# Chat: always within business hours unless a test says otherwise (no test may depend on the clock),
# and uploaded photos under the test run's own folder.
CHAT_BUSINESS_HOURS = ""
MEDIA_ROOT = VAR_DIR / "test" / "media"
# The embedded test worker answers with stand-ins or loads what a test needs itself.
SWITCHBOARD_WARM_MODELS = False

# The learned injection detector loads MiniLM and scikit-learn on first use (seconds on a shared
# host) inside whichever test calls check_input first; tests/guardrails/test_detector.py switches
# it on. Everything else runs the rules only, as deterministic as before.
GUARDRAILS_INJECTION_DETECTOR = "rules"

# The local model is the chain's last member; its first turn in a test process loads MiniLM and
# fits the intent classifiers, which on a busy 2-core host takes longer than production's 30 s
# per-call timeout (and the 90 s turn budget) and made answers depend on the machine's load. Tests of
# timeouts and budgets set their own.
SWITCHBOARD_MODEL_TIMEOUT = 600.0
SWITCHBOARD_TURN_MAX_SECONDS = 600.0
