"""Django settings, built from the validated environment (see civitas.kit.config)."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import dj_database_url

from civitas.kit import config as _config

CONFIG = _config.load()

BASE_DIR = Path(__file__).resolve().parent
DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
CIVITAS_DATA = CONFIG.data_dir
CIVITAS_VAR = CONFIG.var_dir
CIVITAS_AUDIT_KEY = CONFIG.audit_key

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",
    "civitas.kit",
    "civitas.geo",
    "civitas.matters",
    "civitas.org",
    "civitas.appeals",
    "civitas.dispatch",
    "civitas.understanding",
    "civitas.assessment",
    "civitas.open311",
    "civitas.hub",
    "civitas.risk",
    "civitas.mediation",
    "civitas.participation",
    "civitas.citypacks",
    "civitas.web",
]

MIDDLEWARE = [
    "civitas.web.ops.middleware.RequestMiddleware",  # request id, access log, metrics
    "django.middleware.security.SecurityMiddleware",
    "civitas.web.ops.middleware.EndpointsMiddleware",  # /healthz /readyz /metrics
    "civitas.web.nul.RefuseNulMiddleware",  # U+0000 in the JSON API's input: 422
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "civitas.urls"
WSGI_APPLICATION = "civitas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civitas.web.context.navigation",
            ],
        },
    },
]

# var/ holds the SQLite database and collected static files; make it on first start.
(CONFIG.var_dir / "static").mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Login throttling: five failures for one user name from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# The client's address behind a local reverse proxy, never a forgeable header (kit.clientaddr).
AXES_CLIENT_IP_CALLABLE = "civitas.kit.clientaddr.client_address"

LANGUAGE_CODE = CONFIG.language_code
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = CONFIG.time_zone
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "civitas_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

MEDIA_URL = "media/"
MEDIA_ROOT = CONFIG.var_dir / "media"

# Appeals: warning share of the allowed time, return window, whistle deadline, what a
# dissatisfied rating does ("reopen" for re-handling, or "review" by the centre).
CIVITAS_WARN_SHARE = 0.8
CIVITAS_RETURN_WINDOW_HOURS = 24
CIVITAS_WHISTLE_MINUTES = 30
CIVITAS_DISSATISFIED = "reopen"
CIVITAS_NOTIFY_ADAPTERS = {
    "sms": "civitas.kit.outbox.ConsoleAdapter",
    "email": "civitas.kit.outbox.ConsoleAdapter",
}

STATIC_URL = "static/"
STATIC_ROOT = CONFIG.var_dir / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# One process: memory. Several processes share counters (rate limits) through Redis (a Redis
# outage degrades to misses: civitas.kit.cache):
# CIVITAS_CACHE_URL=redis://127.0.0.1:6379/0.
CIVITAS_CACHE_URL = os.environ.get("CIVITAS_CACHE_URL", "")
if CIVITAS_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "civitas.kit.cache.TolerantRedisCache",
            "LOCATION": CIVITAS_CACHE_URL,
            "KEY_PREFIX": "civitas",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# While the cache is away, rate limits let requests through rather than refuse everyone.
RATELIMIT_FAIL_OPEN = True

# Security headers. HTTPS-only settings switch on when CIVITAS_HTTPS=1 (behind TLS).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if _config.truthy(os.environ.get("CIVITAS_HTTPS")):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "civitas.kit.logctx.ContextFilter"}},
    "formatters": {
        "plain": {"()": "civitas.kit.logctx.TextFormatter"},
        "json": {"()": "civitas.kit.logctx.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",  # "json" with CIVITAS_LOG_FORMAT=json (see [ops] below)
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Our access line replaces Django's "Not Found: /path" warnings for 4xx answers.
        "django.request": {"level": "ERROR"},
        "civitas.access": {"level": "INFO"},
    },
}

NINJA_PAGINATION_MAX_LIMIT = 500

# -- Background work, schedule and notifications (deadlines engineer) -------------------------
# django-tasks with its database backend: tasks are rows in the same database, so a task
# queued inside a transaction is committed (or rolled back) with it. `civitas worker` runs
# the scheduler and executes the queued tasks; start one or several.
INSTALLED_APPS += ["django_tasks", "django_tasks_db"]
TASKS = {
    "default": {
        "BACKEND": os.environ.get("CIVITAS_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": [],
    }
}
# Periodic jobs are registered in code (civitas.kit.scheduler.register); this maps a job name
# to another period in seconds, or to 0 to switch the job off.
CIVITAS_SCHEDULE: dict[str, int] = {}
# Resolved cases the resident has not rated within this many days are closed automatically.
# Understanding appeals: the triage steps in order, the learned models' folder, and the
# confidences below which a person checks the machine's matter or route.
CIVITAS_TRIAGE_STEPS = [
    "civitas.appeals.triage.locate_step",
    "civitas.understanding.classifier.classify_step",
    "civitas.appeals.triage.urgency_step",
    "civitas.understanding.duplicates.duplicate_step",
    "civitas.risk.harm.harm_step",
]
# The router: history when sure, else the responsibility list (civitas.dispatch.routing.route).
CIVITAS_ROUTER = "civitas.understanding.routing.route"
CIVITAS_MODEL_DIR = Path(os.environ.get("CIVITAS_MODEL_DIR", CONFIG.var_dir / "models"))
CIVITAS_TRIAGE_MIN_CONFIDENCE = float(os.environ.get("CIVITAS_TRIAGE_MIN_CONFIDENCE", "0.6"))
CIVITAS_ROUTE_MIN_CONFIDENCE = float(os.environ.get("CIVITAS_ROUTE_MIN_CONFIDENCE", "0.8"))
CIVITAS_DUPLICATE_MIN_SCORE = float(os.environ.get("CIVITAS_DUPLICATE_MIN_SCORE", "0.15"))
CIVITAS_RETRAIN_MIN_CONFIRMED = int(os.environ.get("CIVITAS_RETRAIN_MIN_CONFIRMED", "30"))

CIVITAS_AUTO_CLOSE_DAYS = int(os.environ.get("CIVITAS_AUTO_CLOSE_DAYS", "7"))
# Outbox: attempts before a message is given up, and the first retry delay (doubling).
CIVITAS_OUTBOX_MAX_ATTEMPTS = 5
CIVITAS_OUTBOX_RETRY_SECONDS = 120
# A generic HTTP SMS gateway (off unless CIVITAS_SMS_URL is set): POST JSON
# {"to", "text", "sender"} with "Authorization: Bearer CIVITAS_SMS_TOKEN".
CIVITAS_SMS_URL = os.environ.get("CIVITAS_SMS_URL", "")
CIVITAS_SMS_TOKEN = os.environ.get("CIVITAS_SMS_TOKEN", "")
CIVITAS_SMS_SENDER = os.environ.get("CIVITAS_SMS_SENDER", "")
CIVITAS_SMS_TIMEOUT = float(os.environ.get("CIVITAS_SMS_TIMEOUT", "10"))
if CIVITAS_SMS_URL:
    CIVITAS_NOTIFY_ADAPTERS["sms"] = "civitas.kit.outbox.HttpSmsAdapter"
if _config.truthy(os.environ.get("CIVITAS_EMAIL")):
    CIVITAS_NOTIFY_ADAPTERS["email"] = "civitas.kit.outbox.EmailAdapter"
EMAIL_HOST = os.environ.get("CIVITAS_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("CIVITAS_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("CIVITAS_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CIVITAS_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _config.truthy(os.environ.get("CIVITAS_EMAIL_TLS"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("CIVITAS_EMAIL_FROM", "civitas@localhost")
# Open311 GeoReport v2 (/open311/v2/). Descriptions and staff notes appear in public answers
# only when CIVITAS_OPEN311_PUBLIC_TEXT is on, and then without contact details; with
# CIVITAS_OPEN311_DEFER on, POST requests answers a token and background work creates the
# appeal. Rate limits: POSTs per API key, GETs per client address ("N/s|m|h").
CIVITAS_OPEN311_PUBLIC_TEXT = _config.truthy(os.environ.get("CIVITAS_OPEN311_PUBLIC_TEXT"))
CIVITAS_OPEN311_DEFER = _config.truthy(os.environ.get("CIVITAS_OPEN311_DEFER"))
CIVITAS_OPEN311_POST_RATE = os.environ.get("CIVITAS_OPEN311_POST_RATE", "60/m")
CIVITAS_OPEN311_GET_RATE = os.environ.get("CIVITAS_OPEN311_GET_RATE", "600/m")
# Wrong API keys from one client address before its key attempts are refused for a while.
CIVITAS_API_KEY_FAILURE_RATE = os.environ.get("CIVITAS_API_KEY_FAILURE_RATE", "30/m")
CIVITAS_OPEN311_CONTACT = os.environ.get(
    "CIVITAS_OPEN311_CONTACT", "The city's service centre (12345) / 12345 市民服务热线"
)
CIVITAS_OPEN311_KEY_SERVICE = os.environ.get(
    "CIVITAS_OPEN311_KEY_SERVICE",
    "Ask the city's administrators for an API key with the appeals:submit scope.",
)
# Data-sharing hub. Identity numbers become HMAC-SHA256 keys under CIVITAS_HUB_KEY (derived
# from SECRET_KEY when unset: set it explicitly and keep it, or pseudonyms stop joining);
# uploads above CIVITAS_HUB_INLINE_ROWS rows load in the background; one API push holds at
# most CIVITAS_HUB_PUSH_MAX records; approved grants last at most CIVITAS_HUB_MAX_GRANT_DAYS;
# an uploaded or loaded file may hold at most CIVITAS_HUB_MAX_FILE_BYTES.
CIVITAS_HUB_KEY = os.environ.get("CIVITAS_HUB_KEY", "")
CIVITAS_HUB_INLINE_ROWS = int(os.environ.get("CIVITAS_HUB_INLINE_ROWS", "20000"))
CIVITAS_HUB_PUSH_MAX = int(os.environ.get("CIVITAS_HUB_PUSH_MAX", "10000"))
CIVITAS_HUB_MAX_GRANT_DAYS = int(os.environ.get("CIVITAS_HUB_MAX_GRANT_DAYS", "1095"))
CIVITAS_HUB_MAX_FILE_BYTES = int(os.environ.get("CIVITAS_HUB_MAX_FILE_BYTES", str(2 * 1024**3)))
# Staged files of batches rejected or failed longer ago than this are deleted (batch discarded).
CIVITAS_HUB_STAGED_DAYS = int(os.environ.get("CIVITAS_HUB_STAGED_DAYS", "30"))
# A batch loading longer than this, its progress still for 10 minutes, is taken as abandoned.
CIVITAS_HUB_LOAD_TIMEOUT_MINUTES = int(os.environ.get("CIVITAS_HUB_LOAD_TIMEOUT_MINUTES", "360"))
# Records of datasets marked "feeds the risk detectors" join appeals in the scan detectors.
CIVITAS_RISK_HUB_FEED = _config.truthy(os.environ.get("CIVITAS_RISK_HUB_FEED", "1"))
# Mediation: thresholds of the assignment rules (civitas.mediation.rules.DEFAULTS names), as
# a JSON object overriding any of them, e.g. {"street_amount": 20000, "follow_up_days": 14}.
CIVITAS_MEDIATION_RULES = json.loads(os.environ.get("CIVITAS_MEDIATION_RULES", "") or "{}")
# Participation: supporters a suggestion needs before its unit must answer publicly, and how
# long the unit then has; the largest document a consultation may publish.
CIVITAS_SUGGESTION_THRESHOLD = int(os.environ.get("CIVITAS_SUGGESTION_THRESHOLD", "30"))
CIVITAS_SUGGESTION_ANSWER_WITHIN = os.environ.get("CIVITAS_SUGGESTION_ANSWER_WITHIN", "15wd")
CIVITAS_CONSULTATION_DOCUMENT_MB = int(os.environ.get("CIVITAS_CONSULTATION_DOCUMENT_MB", "20"))
# -- end of background work settings ----------------------------------------------------------

# -- Scale-out, operations and data protection --------------------------------------------------
# [ops] Logs: CIVITAS_LOG_FORMAT=json writes one JSON object per line with the request id.
CIVITAS_LOG_FORMAT = os.environ.get("CIVITAS_LOG_FORMAT", "text").strip().lower() or "text"
if CIVITAS_LOG_FORMAT not in {"text", "json"}:
    raise _config.ConfigError([f"CIVITAS_LOG_FORMAT={CIVITAS_LOG_FORMAT!r} must be text or json."])
LOGGING["handlers"]["console"]["formatter"] = "json" if CIVITAS_LOG_FORMAT == "json" else "plain"
# /metrics answers loopback, the networks of CIVITAS_METRICS_ALLOW (comma-separated CIDRs,
# e.g. 10.0.0.0/8) and requests with "Authorization: Bearer CIVITAS_METRICS_TOKEN".
CIVITAS_METRICS_TOKEN = os.environ.get("CIVITAS_METRICS_TOKEN", "")
try:
    CIVITAS_METRICS_ALLOW = tuple(
        ipaddress.ip_network(n.strip(), strict=False)
        for n in os.environ.get("CIVITAS_METRICS_ALLOW", "").split(",")
        if n.strip()
    )
except ValueError as _exc:
    raise _config.ConfigError(
        [f"CIVITAS_METRICS_ALLOW: {_exc} (give CIDRs like 10.0.0.0/8)."]
    ) from None
# /readyz answers from its last result for this long (seconds), so probes stay cheap.
CIVITAS_READYZ_CACHE_SECONDS = float(os.environ.get("CIVITAS_READYZ_CACHE_SECONDS", "1"))
# Probes and scrapes come over plain HTTP from the private network: never redirect them.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)/?$"]
# A database that does not answer fails fast instead of hanging a worker.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("CIVITAS_DB_CONNECT_TIMEOUT", "5"))
    )
# A read replica for dashboards (command centre, assessment, mediation figures): reads
# inside civitas.kit.replica.reading() go there; without it everything reads from default.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
    if DATABASES["replica"]["ENGINE"] == DATABASES["default"]["ENGINE"]:
        DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
        DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["civitas.kit.replica.ReplicaRouter"]
# [ops] end
# [workers] The broker wakes idle workers as soon as a task is queued; tasks stay in the database.
# redis://host:6379/0 (empty: workers poll every --interval seconds). Only a signal goes through
# it: a broker outage slows workers down to polling and loses nothing.
CIVITAS_BROKER_URL = os.environ.get("CIVITAS_BROKER_URL", "")
CIVITAS_BROKER_CHANNEL = os.environ.get("CIVITAS_BROKER_CHANNEL", "civitas:tasks")
# A task whose worker has not been seen alive for this long is queued again (re-delivery);
# after CIVITAS_WORKER_MAX_ATTEMPTS claims it is failed instead (`civitas worker --list`).
CIVITAS_WORKER_LEASE_SECONDS = float(os.environ.get("CIVITAS_WORKER_LEASE_SECONDS", "60"))
CIVITAS_WORKER_MAX_ATTEMPTS = int(os.environ.get("CIVITAS_WORKER_MAX_ATTEMPTS", "3"))
# [workers] end
# [crypto] Encryption of personal data at rest (civitas.kit.crypto; checked in kit.config).
# CIVITAS_ENCRYPTION_KEYS: comma-separated Fernet keys (`civitas keys new`); the first encrypts,
# all decrypt; required unless CIVITAS_DEBUG (then derived from SECRET_KEY when unset).
# CIVITAS_BLIND_INDEX_KEY: the key of the digests that find equal phones (derived from
# SECRET_KEY when unset); it does not rotate with the encryption keys: set it once and keep it.
CIVITAS_ENCRYPTION_KEYS = CONFIG.encryption_keys
CIVITAS_BLIND_INDEX_KEY = CONFIG.blind_index_key
# Rows per transaction of `civitas keys rotate`.
CIVITAS_ENCRYPTION_BATCH = int(os.environ.get("CIVITAS_ENCRYPTION_BATCH", "500"))
# [crypto] end
# [retention] Retention of closed appeals and disputes; backups.
# Closed appeals and disputes are anonymised this many days after they closed (0: never);
# the city decides the periods (docs/OPERATIONS.md, "Retention"). Rows per transaction.
CIVITAS_RETENTION_APPEALS_DAYS = int(os.environ.get("CIVITAS_RETENTION_APPEALS_DAYS", "1095"))
CIVITAS_RETENTION_DISPUTES_DAYS = int(os.environ.get("CIVITAS_RETENTION_DISPUTES_DAYS", "1825"))
CIVITAS_RETENTION_BATCH = int(os.environ.get("CIVITAS_RETENTION_BATCH", "200"))
if min(CIVITAS_RETENTION_APPEALS_DAYS, CIVITAS_RETENTION_DISPUTES_DAYS) < 0:
    raise _config.ConfigError(["CIVITAS_RETENTION_*_DAYS: a number of days, 0 or more"])
if CIVITAS_RETENTION_BATCH < 1:
    raise _config.ConfigError(["CIVITAS_RETENTION_BATCH: at least 1"])
# [retention] end
# [security] Hostile input: outbound fetches, upload limits.
# Hosts the server may fetch from although they resolve to internal addresses (the city's own
# Open311 system or SMS gateway): names, addresses or networks, separated by commas or spaces.
# Every other outbound request goes only to public addresses (civitas.kit.netguard).
CIVITAS_FETCH_ALLOW = os.environ.get("CIVITAS_FETCH_ALLOW", "").replace(",", " ").split()
# The largest image (in pixels) an upload may decode to; larger ones are refused as image bombs.
CIVITAS_MAX_IMAGE_PIXELS = int(os.environ.get("CIVITAS_MAX_IMAGE_PIXELS", str(40_000_000)))
# [security] end
