"""Django settings, built from the environment with safe embedded defaults.

No ``DATABASE_URL`` means a SQLite file, no ``REDIS_URL`` an in-memory channel layer;
with ``DEBUG`` off the process refuses to start without real keys and allowed hosts, and serves HTTPS only.
"""

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from config.dev_secrets import dev_secret
from config.env import (
    ImproperlyConfiguredEnv,
    email_server_from_env,
    env_bool,
    env_durations,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)
# Without DEBUG the keys come from the environment. In development each checkout makes its own random keys
# (config/dev_secrets.py, .dev-secrets/): a key in the repository would be valid on every installation.
# JWTs have a key of their own, distinct from SECRET_KEY: simplejwt signs with the raw key (no salt, unlike
# Django's own signing), and either key can be rotated without the other (rotating JWT_SIGNING_KEY logs out
# every API client, rotating SECRET_KEY every browser session).
DEV_SECRETS_DIR = BASE_DIR / ".dev-secrets"
SECRET_KEY = env_str("SECRET_KEY") or (dev_secret(DEV_SECRETS_DIR, "SECRET_KEY") if DEBUG else "")
JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY") or (dev_secret(DEV_SECRETS_DIR, "JWT_SIGNING_KEY") if DEBUG else "")
# The development default of both keys until 2026-11-30: public in the repository's history.
_PUBLISHED_DEV_SECRET = "insecure-dev-only-secret-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])

if not DEBUG:
    if SECRET_KEY == _PUBLISHED_DEV_SECRET or len(SECRET_KEY) < 32:
        raise ImproperlyConfiguredEnv("DEBUG is off: set SECRET_KEY to a random string of at least 32 characters.")
    if JWT_SIGNING_KEY in (_PUBLISHED_DEV_SECRET, SECRET_KEY) or len(JWT_SIGNING_KEY) < 32:
        raise ImproperlyConfiguredEnv(
            "DEBUG is off: set JWT_SIGNING_KEY to a random string of at least 32 characters, other than SECRET_KEY."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfiguredEnv(
            "DEBUG is off: set ALLOWED_HOSTS to the comma-separated host names this server answers."
        )

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Production is HTTPS only: plain HTTP is redirected, HSTS is sent and cookies travel only over HTTPS
# (`manage.py check --deploy` passes). Behind a proxy that terminates TLS, SECURE_PROXY_SSL_HEADER names the
# header it sets to "https" (X-Forwarded-Proto); only where the proxy overwrites what clients send in it.
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "projects",
    "messaging",
    "meetings",
    "integrations",
    "realtime",
    "presence",
    "pages",
    "notifications",
    "moderation",
    "evidence",
]

# Django's own middleware as the subclasses in kernel/async_middleware.py: the same hooks, run on the event
# loop under ASGI, with a thread hop only where one does blocking I/O (a session save, say).
MIDDLEWARE = [
    "realtime.admission.SendAdmissionMiddleware",
    "kernel.async_middleware.SecurityMiddleware",
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "kernel.async_middleware.SessionMiddleware",
    "kernel.async_middleware.CommonMiddleware",
    "kernel.async_middleware.CsrfViewMiddleware",
    "kernel.async_middleware.AuthenticationMiddleware",
    "config.security_headers.PrivateResponsesMiddleware",
    "kernel.async_middleware.MessageMiddleware",
    "kernel.async_middleware.XFrameOptionsMiddleware",
]
# Django's deploy checks look for its middleware by dotted path; kernel.async_middleware runs them again with
# the stock names and reports a middleware that is really missing as config.security.W001-W003.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Under ASGI each request's sync code runs in a fresh thread, so a persistent per-thread connection
    # is never reused and lingers; a process-wide pool is what reuses connections (docs/performance.md).
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN", 2),
            "max_size": env_int("DB_POOL_MAX", 20),
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one write lock per file. A DEFERRED transaction that read first and then writes cannot wait
    # for it (SQLITE_BUSY at once: "database is locked", a 500); IMMEDIATE takes it at BEGIN, where the busy
    # timeout applies, so concurrent writers queue. WAL lets reads go on beside the writer; with it
    # synchronous=NORMAL is safe: a process crash loses nothing, a power cut at most the last commits.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=20,
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )

REDIS_URL = env_str("REDIS_URL")
# The channel layer is at-most-once: the database is the record and clients catch up by
# cursor, so capacity and expiry bound memory rather than promise delivery. The realtime.layers
# backends are the stock ones with every drop logged at WARNING and counted (GET /api/health).
CHANNEL_LAYER_CAPACITY = env_int("CHANNEL_LAYER_CAPACITY", 1000)
CHANNEL_LAYER_GROUP_EXPIRY = env_int("CHANNEL_LAYER_GROUP_EXPIRY", 86400)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.RedisChannelLayer",
            "CONFIG": {
                # Above channels_redis's 5 s blocking poll: redis-py's default 5 s read timeout races it
                # and kills the consumer running the receive loop (docs/performance.md, fix 1). Commands past
                # max_connections wait for a free connection (realtime.layers.RedisChannelLayer.create_pool).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": env_int("REDIS_SOCKET_TIMEOUT", 15),
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 100),
                    }
                ],
                "capacity": CHANNEL_LAYER_CAPACITY,
                "group_expiry": CHANNEL_LAYER_GROUP_EXPIRY,
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_LAYER_CAPACITY, "group_expiry": CHANNEL_LAYER_GROUP_EXPIRY},
        }
    }

# Rate limits (REST throttles, socket frame rates) count in the cache: with Redis every worker process
# sees one count per user, in memory each process counts alone. The limiter lets requests through while
# the cache is unreachable, so short timeouts keep an outage from stalling each request. The backend is
# Django's on one connection pool per process (kernel.redis_client), which the limits use too.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "kernel.redis_client.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cache"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Every login path authenticates through accounts.login_guard: password attempts limited per (account name,
# client address) and per address, so guesses lock out the guesser's address, never the owner elsewhere,
# and one address cannot spray a password across accounts. Failed attempts count; a success gives its back.
AUTHENTICATION_BACKENDS = ["accounts.login_guard.LoginGuardBackend"]
LOGIN_RATE_PER_ACCOUNT_AND_ADDRESS = env_str("LOGIN_RATE_PER_ACCOUNT_AND_ADDRESS", "5/15min")
LOGIN_RATE_PER_ADDRESS = env_str("LOGIN_RATE_PER_ADDRESS", "30/15min")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "kernel.schema.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.rest.api_exception_handler",
    # DRF's, with nesting too deep for the interpreter answered 400 instead of 500 (kernel.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "kernel.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "message_send": env_str("THROTTLE_MESSAGE_SEND", "120/min"),
        "auth": env_str("THROTTLE_AUTH", "30/min"),
        # Socket tickets per user: with WS_TICKET_TTL_SECONDS this bounds the live tickets a user can hold.
        "ws_ticket": env_str("THROTTLE_WS_TICKET", "30/min"),
        # Meetings created or started per user: each invites or rings the other side.
        "meeting_start": env_str("THROTTLE_MEETING_START", "30/h"),
    },
}
# Proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated; none by default): limits
# counted per address use kernel.client_address, which reads the header only from these, or anyone could
# choose their own address by sending it.
try:
    TRUSTED_PROXIES = [ipaddress.ip_network(item, strict=False) for item in env_list("TRUSTED_PROXIES", [])]
except ValueError as exc:
    raise ImproperlyConfiguredEnv(f"TRUSTED_PROXIES must be IP addresses or CIDRs: {exc}") from exc

SPECTACULAR_SETTINGS = {
    "TITLE": "Collaboration module API",
    "DESCRIPTION": "Projects from accepted proposals, their conversations and Agora meetings.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # kernel.ids.IdConverter: object ids in paths, 1 to 2**63 - 1.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
    # /api/docs/ serves Swagger UI's files itself instead of loading them from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # A message's type has one more value (system) than a client may send: two enums, each named.
    "ENUM_NAME_OVERRIDES": {
        "MessageTypeEnum": "messaging.models.Message.Type",
        "MessageClientTypeEnum": "messaging.models.Message.CLIENT_TYPES",
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "SIGNING_KEY": JWT_SIGNING_KEY,
    # Each refresh answers a new refresh token and blacklists the one presented; presenting a blacklisted
    # one again means two holders, so it revokes every credential of the user (docs/realtime.md, "Ending
    # sessions"; accounts.services.refresh_token_rotate). Tokens carry the user's credentials generation.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TokenRefreshSerializer",
}

# A WebSocket ticket replaces a JWT in the URL, where proxies and logs would keep it.
WS_TICKET_TTL_SECONDS = env_int("WS_TICKET_TTL_SECONDS", 60)
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 16 * 1024)
# Frames a socket may have queued unread before it is closed with 4408 and catches up on reconnect;
# with the transport's own 64 KiB this bounds what one slow client costs (docs/realtime.md).
SOCKET_SEND_QUEUE_MAX = env_int("SOCKET_SEND_QUEUE_MAX", 64)
if SOCKET_SEND_QUEUE_MAX < 1:
    raise ImproperlyConfiguredEnv("SOCKET_SEND_QUEUE_MAX must be at least 1 (0 would mean unbounded).")
# Open sockets per user across all processes (realtime.socket_slots); one more is closed with 4429. A slot is
# given back on disconnect; a killed process's slots lapse one lease after it stopped renewing them.
SOCKET_MAX_PER_USER = env_int("SOCKET_MAX_PER_USER", 20)
SOCKET_SLOT_LEASE_SECONDS = env_int("SOCKET_SLOT_LEASE_SECONDS", 60)
if SOCKET_MAX_PER_USER < 1 or SOCKET_SLOT_LEASE_SECONDS < 3:
    raise ImproperlyConfiguredEnv("SOCKET_MAX_PER_USER must be at least 1 and SOCKET_SLOT_LEASE_SECONDS at least 3.")
# How long a reply, a replayed frame or a close frame may wait for the client to read before the
# socket counts as too slow (a join replaying a long history waits for room page by page).
SOCKET_STALL_SECONDS = 10.0
# Socket.IO's heartbeat (the server pings, the client answers within the timeout) and the time a client has
# to send its CONNECT; a long-polling session whose client stops polling and answering expires after
# interval + timeout (realtime.socketio).
SOCKETIO_PING_INTERVAL_SECONDS = env_int("SOCKETIO_PING_INTERVAL_SECONDS", 25)
SOCKETIO_PING_TIMEOUT_SECONDS = env_int("SOCKETIO_PING_TIMEOUT_SECONDS", 20)
SOCKETIO_CONNECT_TIMEOUT_SECONDS = env_int("SOCKETIO_CONNECT_TIMEOUT_SECONDS", 45)
# Client frames per user and event, across all of the user's sockets and processes ("20/10s", "120/min");
# handlers name their rate (realtime.handlers.socket_handler), everything else counts as "default".
SOCKET_RATES = {
    "default": env_str("SOCKET_RATE_DEFAULT", "20/10s"),
    "typing": env_str("SOCKET_RATE_TYPING", "30/10s"),
}

# Presence (docs/realtime.md, "Presence"): a socket's entry lasts PRESENCE_TTL_SECONDS past its process's last
# renewal, so a killed process's users go offline within it; a user's last socket closing announces them
# offline only if none reopens within PRESENCE_OFFLINE_GRACE_SECONDS (a page reload does not flap); their
# lastSeenAt is written at most once per PRESENCE_LAST_SEEN_INTERVAL_SECONDS.
PRESENCE_TTL_SECONDS = env_int("PRESENCE_TTL_SECONDS", 60)
PRESENCE_OFFLINE_GRACE_SECONDS = env_int("PRESENCE_OFFLINE_GRACE_SECONDS", 5)
if PRESENCE_TTL_SECONDS < 3 or PRESENCE_OFFLINE_GRACE_SECONDS < 0:
    raise ImproperlyConfiguredEnv(
        "PRESENCE_TTL_SECONDS must be at least 3 and PRESENCE_OFFLINE_GRACE_SECONDS at least 0."
    )
PRESENCE_LAST_SEEN_INTERVAL_SECONDS = 60

# Sends in flight per process, from admission to publish; past it POST /api/messages answers 503 with
# Retry-After. Below DB_POOL_MAX so sends never wait on the pool and leave connections for reads and
# socket joins (docs/performance.md, "Overload").
SEND_MAX_IN_FLIGHT = env_int("SEND_MAX_IN_FLIGHT", 16)
if SEND_MAX_IN_FLIGHT < 1:
    raise ImproperlyConfiguredEnv("SEND_MAX_IN_FLIGHT must be at least 1.")
# A Bearer JWT send on PostgreSQL runs its queries on the event loop, over a pool of its own of at most
# SEND_MAX_IN_FLIGHT connections per process (kernel.loop_database), with no hop to a thread (messaging.send).
SEND_DATABASE_ON_LOOP = env_bool("SEND_DATABASE_ON_LOOP", default=True)

# How far behind (ms from publish to the socket's handler) this process's pushes may be before sends are
# refused 503 + Retry-After: a send cheaper than its deliveries must not outrun them until the channel layer
# drops pushes (realtime.admission; docs/performance.md, "Overload"). Keep sends/s × it far below
# CHANNEL_LAYER_CAPACITY.
DELIVERY_MAX_LAG_MS = env_int("DELIVERY_MAX_LAG_MS", 500)
if DELIVERY_MAX_LAG_MS < 1:
    raise ImproperlyConfiguredEnv("DELIVERY_MAX_LAG_MS must be at least 1.")

MESSAGE_MAX_LENGTH = env_int("MESSAGE_MAX_LENGTH", 5000)
# How long after sending a message its sender may edit or delete it (PATCH/DELETE /api/messages/{id}).
MESSAGE_EDIT_WINDOW = timedelta(seconds=env_int("MESSAGE_EDIT_WINDOW_SECONDS", 15 * 60))
# What happens to a message (or a file's name and caption) that gives a way to reach or pay someone off the platform
# (kernel.contact_filter, docs/moderation.md): off; flag (delivered, marked for staff); mask (recipients see
# the contact replaced); hold (recipients see a placeholder until staff approve it).
CONTACT_FILTER = env_str("CONTACT_FILTER", "flag").strip().lower()
if CONTACT_FILTER not in ("off", "flag", "mask", "hold"):
    raise ImproperlyConfiguredEnv(f"CONTACT_FILTER must be off, flag, mask or hold, got {CONTACT_FILTER!r}")
# Free text a user submits beyond messages; longer is answered 400 on the field (nothing unbounded is stored).
SERVICE_REQUEST_DESCRIPTION_MAX_LENGTH = env_int("SERVICE_REQUEST_DESCRIPTION_MAX_LENGTH", 10000)
PROPOSAL_SCOPE_MAX_LENGTH = env_int("PROPOSAL_SCOPE_MAX_LENGTH", 10000)
PASSWORD_MAX_LENGTH = env_int("PASSWORD_MAX_LENGTH", 1024)
MESSAGE_PAGE_DEFAULT = env_int("MESSAGE_PAGE_DEFAULT", 50)
MESSAGE_PAGE_MAX = env_int("MESSAGE_PAGE_MAX", 100)
# Message search (messaging/search.py, docs/architecture.md "Search"). SEARCH_CONFIG is PostgreSQL's text search
# configuration: 'english' stems ("meetings" finds "meeting") and drops stop words, for the product's English;
# 'simple' only lowercases, for mixed-language content. It is baked into the indexed column by the migration:
# changing it means re-creating that column (the docs give the SQL).
SEARCH_CONFIG = env_str("SEARCH_CONFIG", "english")
if not re.fullmatch(r"[a-z_]+", SEARCH_CONFIG):
    raise ImproperlyConfiguredEnv("SEARCH_CONFIG must name a text search configuration, e.g. english or simple.")
SEARCH_QUERY_MAX_LENGTH = env_int("SEARCH_QUERY_MAX_LENGTH", 200)
SEARCH_PAGE_DEFAULT = env_int("SEARCH_PAGE_DEFAULT", 20)
SEARCH_PAGE_MAX = env_int("SEARCH_PAGE_MAX", 50)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
UPLOAD_ALLOWED_CONTENT_TYPES = env_list(
    "UPLOAD_ALLOWED_CONTENT_TYPES",
    ["image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain", "application/zip"],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
# Request bodies past their path's limit are refused with 413 before they are read (config.body_limits):
# the auth endpoints take a few KiB, a send what MESSAGE_MAX_LENGTH needs, an upload UPLOAD_MAX_BYTES and
# its message; every other body (JSON API, admin and page forms) REQUEST_BODY_MAX_BYTES.
AUTH_BODY_MAX_BYTES = env_int("AUTH_BODY_MAX_BYTES", 4 * 1024)
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 64 * 1024)
TYPING_FORWARD_INTERVAL_SECONDS = 2.0

# Seals evidence exports (projects/evidence.py). Empty: a key derived from SECRET_KEY, so rotating SECRET_KEY
# makes earlier exports unverifiable; set a key of its own to keep them verifiable across rotations.
EVIDENCE_SIGNING_KEY = env_str("EVIDENCE_SIGNING_KEY")

# Email (notifications): EMAIL_URL (smtp://, smtp+tls://, smtps://, console://) or Django's usual EMAIL_HOST...;
# with neither, the console backend prints each email on the server's standard output (config.env).
_EMAIL = email_server_from_env()
EMAIL_BACKEND = _EMAIL.backend
EMAIL_HOST = _EMAIL.host
EMAIL_PORT = _EMAIL.port
EMAIL_HOST_USER = _EMAIL.user
EMAIL_HOST_PASSWORD = _EMAIL.password
EMAIL_USE_TLS = _EMAIL.use_tls
EMAIL_USE_SSL = _EMAIL.use_ssl
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Collaboration <noreply@localhost>")
# The site's address as people reach it, for the absolute links an email carries (no request to build them from).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in ("http", "https") or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfiguredEnv(
        f"SITE_URL must be an http(s) address like https://chat.example.com, got {SITE_URL!r}"
    )
# How long an email's unsubscribe link works (notifications.services): long enough for an old email in a mailbox.
UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS = env_int("UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS", 60)
# A meeting has no planned length: its calendar entry lasts this long from its start (notifications.calendar).
MEETING_CALENDAR_MINUTES = env_int("MEETING_CALENDAR_MINUTES", 60)

AGORA_APP_ID = env_str("AGORA_APP_ID")
AGORA_APP_CERTIFICATE = env_str("AGORA_APP_CERTIFICATE")
AGORA_TOKEN_VERSION = env_str("AGORA_TOKEN_VERSION", "007")
AGORA_TOKEN_TTL_SECONDS = 3600
AGORA_SDK_URL = env_str("AGORA_SDK_URL", "https://download.agora.io/sdk/release/AgoraRTC_N-4.23.0.js")
MEETING_MAX_DURATION_SECONDS = env_int("MEETING_MAX_DURATION_SECONDS", 4 * 3600)

# Content-Security-Policy of every response (config.security_headers): the pages run only their own scripts
# and styles (no inline code; Swagger UI's is served as a file too) plus the Agora SDK from AGORA_SDK_URL's
# origin. They open /ws/ on their own origin ('self' covers ws: and wss: in CSP 3) and the SDK connects to
# Agora's servers, whose edges listen on ports other than 443 (CSP_CONNECT_SRC).
_AGORA_SDK = urlsplit(AGORA_SDK_URL)
CSP_CONNECT_SRC = env_list("CSP_CONNECT_SRC", ["*.agora.io:*", "*.sd-rtn.com:*", "*.rtnsvc.com:*", "*.rtesvc.com:*"])
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", *([f"{_AGORA_SDK.scheme}://{_AGORA_SDK.netloc}"] if _AGORA_SDK.netloc else [])],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'", *CSP_CONNECT_SRC],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# Webhooks (docs/integration.md): the worker (`manage.py run_worker`) delivers the outbox's events to the
# registered endpoints. An attempt waits WEBHOOK_TIMEOUT_SECONDS for an answer; a failed one is tried again
# after the next delay of WEBHOOK_RETRY_SCHEDULE (each moved by up to WEBHOOK_RETRY_JITTER of itself), and
# after the last the delivery is failed. A worker's claim on a delivery lapses after WEBHOOK_CLAIM_LEASE_SECONDS
# (more than the timeout), when another worker takes it over. Private, loopback and link-local targets are
# refused unless WEBHOOK_ALLOW_PRIVATE (development against a local receiver).
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_RETRY_SCHEDULE = env_durations("WEBHOOK_RETRY_SCHEDULE", ["5s", "30s", "5m", "30m", "2h", "5h", "10h", "10h"])
WEBHOOK_RETRY_JITTER = env_float("WEBHOOK_RETRY_JITTER", 0.1)
WEBHOOK_CLAIM_LEASE_SECONDS = env_float("WEBHOOK_CLAIM_LEASE_SECONDS", 60.0)
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", default=False)
if not 0 <= WEBHOOK_RETRY_JITTER < 1 or WEBHOOK_CLAIM_LEASE_SECONDS <= WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfiguredEnv(
        "WEBHOOK_RETRY_JITTER must be in [0, 1) and WEBHOOK_CLAIM_LEASE_SECONDS above WEBHOOK_TIMEOUT_SECONDS."
    )
# Jobs one worker process carries out at once (threads), and how long it sleeps when nothing is due; the
# kinds of job it runs, and what else reads the outbox's events as they are fanned out.
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 8)
WORKER_POLL_SECONDS = env_float("WORKER_POLL_SECONDS", 1.0)
WORKER_JOB_KINDS = ["integrations.worker.WEBHOOK_DELIVERIES", "notifications.jobs.EMAILS"]
OUTBOX_EVENT_CONSUMERS = ["notifications.services.notifications_schedule_for_events"]

# Emails the worker sends (docs/notifications.md): a participant who is offline when a message arrives gets one
# email for the conversation NOTIFY_DELAY seconds later, with what they have not read by then; participants of a
# scheduled meeting are reminded MEETING_REMINDER_MINUTES before it. A failed SMTP attempt is tried again after
# the next delay of NOTIFY_RETRY_SCHEDULE, then the email is failed; a claim lapses after NOTIFY_CLAIM_LEASE_SECONDS.
NOTIFY_DELAY = env_int("NOTIFY_DELAY", 120)
MEETING_REMINDER_MINUTES = env_int("MEETING_REMINDER_MINUTES", 10)
NOTIFY_RETRY_SCHEDULE = env_durations("NOTIFY_RETRY_SCHEDULE", ["30s", "2m", "10m", "1h"])
NOTIFY_CLAIM_LEASE_SECONDS = env_float("NOTIFY_CLAIM_LEASE_SECONDS", 120.0)
if NOTIFY_DELAY < 0 or MEETING_REMINDER_MINUTES < 1 or NOTIFY_CLAIM_LEASE_SECONDS <= 2 * EMAIL_TIMEOUT:
    raise ImproperlyConfiguredEnv(
        "NOTIFY_DELAY must be at least 0, MEETING_REMINDER_MINUTES at least 1 and NOTIFY_CLAIM_LEASE_SECONDS "
        "above twice EMAIL_TIMEOUT."
    )

# Every record of the process, servers' included, has tickets, tokens and session ids redacted.
LOGGING_CONFIG = "config.log_redaction.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
