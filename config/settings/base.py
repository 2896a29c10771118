"""Settings shared by every environment.

Everything comes from environment variables (12-factor). The defaults make
`make run` work on a fresh clone: the dev-stack launcher (`config/devstack`)
writes the addresses of the PostgreSQL and Redis it started into
`var/stack.env`, which is read here; variables set in the real environment win.
"""

from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
STACK_ENV_FILE = env.path("SWITCHBOARD_STACK_ENV", default=str(VAR_DIR / "stack.env"))
if Path(STACK_ENV_FILE).is_file():
    environ.Env.read_env(str(STACK_ENV_FILE), overwrite=False)

# --- core -------------------------------------------------------------------
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "apps.core",
    "apps.accounts",
    "apps.commerce",
    "apps.conversations",
    "apps.agents",
    "apps.knowledge",
    "apps.support",
    "apps.guardrails",
    "apps.observability",
    "apps.evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.shop",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
# No DATABASE_URL: the embedded PostgreSQL 18 + pgvector that `make run` starts,
# reached over its Unix socket in var/postgres.
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"postgres://postgres@%2F{str(VAR_DIR / 'postgres').replace('/', '%2F')}/switchboard",
    )
}
# libpq URLs percent-encode a socket directory as the host; django-environ leaves it encoded.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: cache, rate limits, channel layer, Celery broker ----------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sb",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
RATELIMIT_USE_CACHE = "default"

# The layer blocks on Redis for up to 5 s per receive (BZPOPMIN); redis-py 8's default 5 s socket
# timeout races with that and kills idle consumers, so the read timeout must be longer.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": "sb-asgi",
            "capacity": 1000,
            "expiry": 60,
        },
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- i18n, time -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- static -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"

# --- auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- email ------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="support@tidewater.example")

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Conversations with the Switchboard support agent.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- logging and errors -----------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="development")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

# --- the shop ---------------------------------------------------------------
# One source of truth for policy: the commerce services enforce these and the
# knowledge base is rendered from them, so the bot and the shop never disagree.
SHOP_NAME = env("SHOP_NAME", default="Tidewater Goods")
SHOP_CURRENCY = env("SHOP_CURRENCY", default="USD")
SHOP_SUPPORT_EMAIL = env("SHOP_SUPPORT_EMAIL", default="support@tidewater.example")
SHOP_RETURN_WINDOW_DAYS = env.int("SHOP_RETURN_WINDOW_DAYS", default=30)
SHOP_RETURN_SHIPPING_FEE = Decimal(env("SHOP_RETURN_SHIPPING_FEE", default="5.95"))
SHOP_FREE_SHIPPING_THRESHOLD = Decimal(env("SHOP_FREE_SHIPPING_THRESHOLD", default="50.00"))
SHOP_STANDARD_SHIPPING_FEE = Decimal(env("SHOP_STANDARD_SHIPPING_FEE", default="5.99"))
SHOP_EXPRESS_SHIPPING_FEE = Decimal(env("SHOP_EXPRESS_SHIPPING_FEE", default="14.99"))
SHOP_REFUND_PROCESSING_DAYS = env.int("SHOP_REFUND_PROCESSING_DAYS", default=10)
SHOP_WARRANTY_MONTHS = env.int("SHOP_WARRANTY_MONTHS", default=24)

# --- support desk -----------------------------------------------------------
REFUND_SECOND_APPROVER_THRESHOLD = Decimal(env("REFUND_SECOND_APPROVER_THRESHOLD", default="500.00"))
REFUND_APPROVAL_ESCALATE_AFTER_HOURS = env.int("REFUND_APPROVAL_ESCALATE_AFTER_HOURS", default=24)
PENDING_ACTION_TTL_MINUTES = env.int("PENDING_ACTION_TTL_MINUTES", default=15)

# --- demo -------------------------------------------------------------------
# Idempotent loaders run by `manage.py demo_setup` (and so by `make run`).
DEMO_SETUP_COMMANDS = ["sync_roles", "seed_demo"]

# --- support ----------------------------------------------------------------
# Ticket SLA: hours from creation to the due time, per priority.
SUPPORT_TICKET_SLA_HOURS = {
    "urgent": env.int("SUPPORT_SLA_URGENT_HOURS", default=2),
    "high": env.int("SUPPORT_SLA_HIGH_HOURS", default=8),
    "normal": env.int("SUPPORT_SLA_NORMAL_HOURS", default=24),
    "low": env.int("SUPPORT_SLA_LOW_HOURS", default=72),
}
# An approved refund whose execution task has not finished after this long is queued again
# by the beat job (the task is idempotent; this only recovers a lost broker message).
REFUND_APPROVAL_REQUEUE_AFTER_MINUTES = env.int("REFUND_APPROVAL_REQUEUE_AFTER_MINUTES", default=15)
# An approved refund whose execution raised an unexpected error this many times is marked failed
# (a billing ticket follows up and the customer is told) instead of being queued again forever.
REFUND_APPROVAL_MAX_EXECUTION_ATTEMPTS = env.int("REFUND_APPROVAL_MAX_EXECUTION_ATTEMPTS", default=5)
SUPPORT_BEAT_INTERVAL_SECONDS = env.int("SUPPORT_BEAT_INTERVAL_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["support-refund-approvals-sweep"] = {
    "task": "apps.support.tasks.sweep_refund_approvals",
    "schedule": SUPPORT_BEAT_INTERVAL_SECONDS,
}
# After the demo shop exists (appended so it runs after commerce's seed).
DEMO_SETUP_COMMANDS = [*DEMO_SETUP_COMMANDS, "seed_support_demo"]
# Absolute links in emails to staff (the escalation mail links to the admin queue).
SUPPORT_SITE_URL = env("SUPPORT_SITE_URL", default="http://127.0.0.1:8000")

# --- guardrails -------------------------------------------------------------
# Pure-Python checks run on every customer message and every reply (apps/guardrails).
GUARDRAILS_MAX_INPUT_CHARS = env.int("GUARDRAILS_MAX_INPUT_CHARS", default=4000)
# Injection score in [0, 1]; at or above the threshold the message never reaches a model.
GUARDRAILS_INJECTION_THRESHOLD = env.float("GUARDRAILS_INJECTION_THRESHOLD", default=0.7)
# After this many tripped messages in one conversation the turn escalates to a person.
GUARDRAILS_INJECTION_ESCALATE_AFTER = env.int("GUARDRAILS_INJECTION_ESCALATE_AFTER", default=3)
# Links in replies may only point here (a host or any of its subdomains).
GUARDRAILS_LINK_ALLOWED_DOMAINS = env.list("GUARDRAILS_LINK_ALLOWED_DOMAINS", default=["tidewater.example"])
# Secret strings planted in prompts; a reply containing one leaked the prompt.
GUARDRAILS_CANARIES = env.list("GUARDRAILS_CANARIES", default=[])
# A reply sharing this many consecutive words with a system prompt leaked it.
GUARDRAILS_PROMPT_LEAK_MIN_WORDS = env.int("GUARDRAILS_PROMPT_LEAK_MIN_WORDS", default=10)
# What an order number looks like in replies; others' numbers are withheld.
GUARDRAILS_ORDER_NUMBER_PATTERN = env("GUARDRAILS_ORDER_NUMBER_PATTERN", default=r"\bTW-?\d{6}\b")

# --- agents -----------------------------------------------------------------
# Models by role: "openai:<model>", "anthropic:<model>" or "local". With no API
# key for a provider its models are skipped, so with no keys everything is local.
# Every chain ends in "local" (added when missing). See docs/agents.md.
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")  # an OpenAI-compatible server (vLLM, Ollama, llama.cpp): .../v1
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env("ANTHROPIC_BASE_URL", default="")
SWITCHBOARD_ROUTER_MODEL = env("SWITCHBOARD_ROUTER_MODEL", default="local")
SWITCHBOARD_AGENT_MODEL = env("SWITCHBOARD_AGENT_MODEL", default="local")
SWITCHBOARD_SUMMARY_MODEL = env("SWITCHBOARD_SUMMARY_MODEL", default="local")
SWITCHBOARD_JUDGE_MODEL = env("SWITCHBOARD_JUDGE_MODEL", default="local")  # evaluation's grader
SWITCHBOARD_ROUTER_FALLBACKS = env.list("SWITCHBOARD_ROUTER_FALLBACKS", default=[])
SWITCHBOARD_AGENT_FALLBACKS = env.list("SWITCHBOARD_AGENT_FALLBACKS", default=[])
SWITCHBOARD_SUMMARY_FALLBACKS = env.list("SWITCHBOARD_SUMMARY_FALLBACKS", default=[])
SWITCHBOARD_JUDGE_FALLBACKS = env.list("SWITCHBOARD_JUDGE_FALLBACKS", default=[])
# Resilience: per-call timeout, our own bounded retries (the SDKs' are off).
SWITCHBOARD_MODEL_TIMEOUT = env.float("SWITCHBOARD_MODEL_TIMEOUT", default=30.0)
SWITCHBOARD_MODEL_MAX_RETRIES = env.int("SWITCHBOARD_MODEL_MAX_RETRIES", default=2)
SWITCHBOARD_RETRY_BASE_DELAY = env.float("SWITCHBOARD_RETRY_BASE_DELAY", default=0.5)
SWITCHBOARD_RETRY_MAX_DELAY = env.float("SWITCHBOARD_RETRY_MAX_DELAY", default=20.0)
# Circuit breaker per provider, state in Redis: opens after N failures within the
# window, lets one probe through after the cool-down, closes on its success.
SWITCHBOARD_BREAKER_FAILURES = env.int("SWITCHBOARD_BREAKER_FAILURES", default=5)
SWITCHBOARD_BREAKER_WINDOW_SECONDS = env.int("SWITCHBOARD_BREAKER_WINDOW_SECONDS", default=60)
SWITCHBOARD_BREAKER_COOLDOWN_SECONDS = env.int("SWITCHBOARD_BREAKER_COOLDOWN_SECONDS", default=30)
# Budgets. Per turn (pydantic-ai UsageLimits + a wall clock), per conversation and
# per customer per UTC day (counted from the traces). 0 disables a limit.
SWITCHBOARD_TURN_MAX_MODEL_REQUESTS = env.int("SWITCHBOARD_TURN_MAX_MODEL_REQUESTS", default=8)
SWITCHBOARD_TURN_MAX_TOOL_CALLS = env.int("SWITCHBOARD_TURN_MAX_TOOL_CALLS", default=8)
SWITCHBOARD_TURN_MAX_TOKENS = env.int("SWITCHBOARD_TURN_MAX_TOKENS", default=40000)
SWITCHBOARD_TURN_MAX_SECONDS = env.float("SWITCHBOARD_TURN_MAX_SECONDS", default=90.0)
SWITCHBOARD_CONVERSATION_MAX_TOKENS = env.int("SWITCHBOARD_CONVERSATION_MAX_TOKENS", default=400000)
SWITCHBOARD_CONVERSATION_MAX_TURNS = env.int("SWITCHBOARD_CONVERSATION_MAX_TURNS", default=100)
SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS = env.int("SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS", default=1000000)
SWITCHBOARD_CUSTOMER_DAILY_MAX_COST = Decimal(env("SWITCHBOARD_CUSTOMER_DAILY_MAX_COST", default="5.00"))
# Memory: how many tokens of history go to the model; older turns are summarised.
SWITCHBOARD_HISTORY_MAX_TOKENS = env.int("SWITCHBOARD_HISTORY_MAX_TOKENS", default=3000)
# Prices per million tokens that override genai-prices, e.g. a self-hosted model:
# SWITCHBOARD_MODEL_PRICES="openai:my-llama=0.10/0.20,anthropic:claude-x=3/15"
SWITCHBOARD_MODEL_PRICES = env.dict("SWITCHBOARD_MODEL_PRICES", default={})
CELERY_BEAT_SCHEDULE["agents-expire-pending-actions"] = {
    "task": "apps.agents.tasks.expire_pending_actions",
    "schedule": 300.0,
}


# --- knowledge --------------------------------------------------------------
# Embeddings: `local` (packaged all-MiniLM-L6-v2, offline), `openai`
# (text-embedding-3-small asked for 384 dimensions) or a dotted class path. Switching means
# re-embedding: `manage.py ingest` does it for changed signatures, `reindex` forces it.
KNOWLEDGE_EMBEDDING_BACKEND = env("KNOWLEDGE_EMBEDDING_BACKEND", default="local")
KNOWLEDGE_EMBEDDING_BATCH_SIZE = env.int("KNOWLEDGE_EMBEDDING_BATCH_SIZE", default=64)
KNOWLEDGE_LOCAL_MODEL_PATH = env("KNOWLEDGE_LOCAL_MODEL_PATH", default="")  # empty: the packaged model
KNOWLEDGE_OPENAI_MODEL = env("KNOWLEDGE_OPENAI_MODEL", default="text-embedding-3-small")
KNOWLEDGE_OPENAI_API_KEY = env("KNOWLEDGE_OPENAI_API_KEY", default=env("OPENAI_API_KEY", default=""))
KNOWLEDGE_OPENAI_BASE_URL = env("KNOWLEDGE_OPENAI_BASE_URL", default=env("OPENAI_BASE_URL", default=""))
KNOWLEDGE_OPENAI_TIMEOUT = env.float("KNOWLEDGE_OPENAI_TIMEOUT", default=20.0)
KNOWLEDGE_OPENAI_MAX_RETRIES = env.int("KNOWLEDGE_OPENAI_MAX_RETRIES", default=2)
# Chunking: token budget per chunk (MiniLM word pieces; the model reads 256) and overlap.
KNOWLEDGE_CHUNK_MAX_TOKENS = env.int("KNOWLEDGE_CHUNK_MAX_TOKENS", default=200)
KNOWLEDGE_CHUNK_OVERLAP_TOKENS = env.int("KNOWLEDGE_CHUNK_OVERLAP_TOKENS", default=40)
# Retrieval: candidates per retriever, HNSW search breadth, BM25's candidate budget (best
# postings per query term), queries generated to fit fusion, and an optional fixed answer
# threshold (empty: the one fitted to the knowledge base).
KNOWLEDGE_SEARCH_CANDIDATES = env.int("KNOWLEDGE_SEARCH_CANDIDATES", default=40)
KNOWLEDGE_HNSW_EF_SEARCH = env.int("KNOWLEDGE_HNSW_EF_SEARCH", default=80)
KNOWLEDGE_BM25_POSTINGS_PER_TERM = env.int("KNOWLEDGE_BM25_POSTINGS_PER_TERM", default=1000)
KNOWLEDGE_FIT_MAX_QUERIES = env.int("KNOWLEDGE_FIT_MAX_QUERIES", default=300)
KNOWLEDGE_ANSWER_THRESHOLD = env.float("KNOWLEDGE_ANSWER_THRESHOLD", default=None)
KNOWLEDGE_FALSE_ANSWER_RATE = env.float("KNOWLEDGE_FALSE_ANSWER_RATE", default=0.3)
KNOWLEDGE_TEXT_SEARCH_CONFIG = env("KNOWLEDGE_TEXT_SEARCH_CONFIG", default="english")
# Admin uploads larger than this are refused; accepted ones are indexed by Celery after commit.
KNOWLEDGE_UPLOAD_MAX_BYTES = env.int("KNOWLEDGE_UPLOAD_MAX_BYTES", default=2_000_000)
KNOWLEDGE_DEMO_SOURCE = env("KNOWLEDGE_DEMO_SOURCE", default="demo-kb")
DEMO_SETUP_COMMANDS = [*DEMO_SETUP_COMMANDS, "ingest_demo_kb", "prepare_router"]

# --- conversations (chat, console, review) -----------------------------------
# Per-shop secret for identity tokens the shop's own site signs (HMAC-SHA256 of
# the customer id and an expiry); empty disables token sign-in.
CHAT_IDENTITY_SECRET = env("CHAT_IDENTITY_SECRET", default="")
CHAT_IDENTITY_MAX_TTL_SECONDS = env.int("CHAT_IDENTITY_MAX_TTL_SECONDS", default=24 * 3600)
# A guest's bearer key to resume their own conversation (widget without cookies).
CHAT_ACCESS_MAX_AGE_SECONDS = env.int("CHAT_ACCESS_MAX_AGE_SECONDS", default=30 * 24 * 3600)
# The same counters (Redis) serve HTTP (django-ratelimit) and the socket.
CHAT_RATE_PER_CUSTOMER = env("CHAT_RATE_PER_CUSTOMER", default="30/m")
CHAT_RATE_PER_CONNECTION = env("CHAT_RATE_PER_CONNECTION", default="15/m")
CHAT_RATE_PER_IP = env("CHAT_RATE_PER_IP", default="60/m")
CHAT_RATE_VERIFY = env("CHAT_RATE_VERIFY", default="5/15m")
CHAT_MAX_FRAME_BYTES = env.int("CHAT_MAX_FRAME_BYTES", default=16384)
# Origins (besides our own) allowed to frame /chat/embed/ for the widget.
CHAT_WIDGET_FRAME_ANCESTORS = env.list("CHAT_WIDGET_FRAME_ANCESTORS", default=[])
CHAT_RESOLUTION_CODES = env.list(
    "CHAT_RESOLUTION_CODES",
    default=["resolved", "refund_issued", "order_updated", "information_given", "no_response", "duplicate", "other"],
)

# --- agents: local model and router -------------------------------------------
# The local classifier's calibrated confidence at or above which its route stands;
# below it the LLM router (SWITCHBOARD_ROUTER_MODEL, when not "local") is asked.
SWITCHBOARD_ROUTER_THRESHOLD = env.float("SWITCHBOARD_ROUTER_THRESHOLD", default=0.6)
# torch intra-op threads for the embedding model in each process (0 = torch's default).
SWITCHBOARD_EMBEDDING_THREADS = env.int("SWITCHBOARD_EMBEDDING_THREADS", default=1)

# --- specialists and evaluation -------------------------------------------------
# FAQ: an excerpt counts as relevant at or above this cosine similarity to the question
# (below it the FAQ specialist says it does not know and offers a ticket); excerpts fetched.
SPECIALISTS_FAQ_MIN_SIMILARITY = env.float("SPECIALISTS_FAQ_MIN_SIMILARITY", default=0.45)
SPECIALISTS_FAQ_TOP_K = env.int("SPECIALISTS_FAQ_TOP_K", default=4)
# Pin a prompt version per specialist, e.g. "order=1,faq=2" (default: the newest file).
SPECIALISTS_PROMPT_VERSIONS = env.dict("SPECIALISTS_PROMPT_VERSIONS", default={})
# `manage.py evaluate` fails (exit 1) below this pass rate, in percent.
EVALUATION_MIN_PASS = env.float("EVALUATION_MIN_PASS", default=100.0)
