"""Settings for the panel, read from the environment (see `.env.example`).

Every value has an embedded default that runs the demo on one machine with no servers
(SQLite, a filesystem Celery broker, a local-memory cache). Production sets the
variables; with DEBUG off the panel refuses to start without a SECRET_KEY and a
FIELD_ENCRYPTION_KEY.
"""

import base64
import hashlib
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Where the embedded defaults keep their files (SQLite database, filesystem broker queue).
VAR_DIR = Path(env.str("PANEL_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (see .env.example); "
            "only DEBUG=1 runs with a development key."
        )
    SECRET_KEY = _DEV_SECRET_KEY

FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set. Generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    # Derived from the development secret so that a demo database stays readable between runs.
    FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

PANEL_CURRENCY = env.str("PANEL_CURRENCY", default="USD")
PANEL_NAME = env.str("PANEL_NAME", default="SMM Panel")
# The logo beside the name: an address on this site (the Content-Security-Policy allows images
# from the panel itself and data: URIs only). Empty: the panel's own logo.
PANEL_LOGO_URL = env.str("PANEL_LOGO_URL", default="")

INSTALLED_APPS = [
    # The admin on django-unfold's theme (before Django's admin: its templates win), with our site:
    # two-factor sign-in for staff, the sidebar and the dashboard (panel/admin_site.py).
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "panel.admin_config.PanelAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_htmx",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "panel",
    "billing",
    "providers",
    "orders",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Serves the collected static files from gunicorn itself: no separate file server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the page: the switcher's cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A NUL byte in a query string is the client's mistake (400), not a database error (500).
    "panel.middleware.UnstorableQueryMiddleware",
    # A signed-in customer's pages are in the language kept on their account (after the check
    # above: it reads the session).
    "panel.languages.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "panel.urls"

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
                "panel.context_processors.panel",
            ],
        },
    },
]

WSGI_APPLICATION = "panel.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'panel.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Several processes (web, worker, beat) share the demo file: take the write lock when a
    # transaction starts (so it waits instead of failing on upgrade) and let readers go on (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "panel.User"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "panel"}}

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# The customer pages, messages and e-mails speak these languages (catalogs under locale/); staff
# pages may stay English (Django translates its admin), and /api/v2 always answers in English, the
# words its clients match. A visitor gets the browser's language (zh-TW and zh-HK find zh-hant), the
# switcher's choice is kept in a cookie and on the account, and LANGUAGE_CODE is the language for
# everyone else: browsers asking for none of these, and e-mails to accounts that never chose one.
LANGUAGES = [("en", "English"), ("zh-hant", "Traditional Chinese"), ("ru", "Russian"), ("es", "Spanish")]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en").lower()
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}, not {LANGUAGE_CODE!r}.")
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# With DEBUG off the console backend is refused by a system check (panel.E001): reset links
# printed to a log reach nobody, or the wrong people.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="panel@localhost")
# support.services.staff_notify e-mails STAFF_ALERT_EMAILS (below) and posts to this Telegram chat when both are set.
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_CHAT_ID = env.str("TELEGRAM_CHAT_ID", default="")

# Support tickets: spam limits, and images attached to messages, kept outside the web root and
# served only to the ticket's owner and staff.
SUPPORT_MAX_OPEN_TICKETS = env.int("SUPPORT_MAX_OPEN_TICKETS", default=5)
SUPPORT_MAX_MESSAGES_PER_HOUR = env.int("SUPPORT_MAX_MESSAGES_PER_HOUR", default=20)
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
# Seconds between runs of the notification outbox (order and deposit e-mails, low balance).
NOTIFICATIONS_INTERVAL = env.int("NOTIFICATIONS_INTERVAL", default=60)

# Security. With DEBUG off the defaults are the strict ones that `check --deploy` expects;
# each can be relaxed by its variable (e.g. behind a TLS-terminating proxy).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# Behind how many reverse proxies the panel runs (docker-compose.yml: one, the TLS proxy).
# Only that many entries from the right of X-Forwarded-For are believed, for the API's
# per-address throttle and the login lockout; with 0 the header is ignored (core/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The admin's address, e.g. "office-7f3a/" to keep it out of scanners' way.
ADMIN_URL = env.str("ADMIN_URL", default="admin/")
if not ADMIN_URL.endswith("/") or ADMIN_URL.startswith("/"):
    raise ImproperlyConfigured(f"ADMIN_URL must look like 'admin/' (no leading slash, one trailing): {ADMIN_URL!r}")

# Sign-in lockout (django-axes): after LOGIN_FAILURE_LIMIT failed sign-ins for one username,
# or from one address, further tries are refused for LOGIN_COOLOFF_MINUTES; the customer
# site's /login/ and the admin's login alike. Lockouts are listed in the admin (Axes).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_COOLOFF_MINUTES = env.int("LOGIN_COOLOFF_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "panel.views.login_locked_out"
# A success does not wipe the failures: an attacker with an account of their own could
# otherwise reset the count of their address between guesses at someone else's.
AXES_RESET_ON_SUCCESS = False

# Password reset and signup, counted per address (and per e-mail for resets) in the cache.
PASSWORD_RESET_RATE = env.str("PASSWORD_RESET_RATE", default="5/hour")
SIGNUP_RATE = env.str("SIGNUP_RATE", default="10/hour")

# Two-factor sign-in (TOTP) for staff: each can turn it on from /account/two-factor/; with
# STAFF_REQUIRE_2FA=1 the admin refuses staff who have not signed in with a code.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = PANEL_NAME

# Content-Security-Policy (django-csp): scripts, styles and everything else from our own
# static files only; no inline script or style anywhere in templates/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        # Our own pages, or a payment gateway's checkout over HTTPS (Perfect Money's is a form POST).
        "form-action": [SELF, "https:"],
        "frame-ancestors": [NONE],
    }
}

# Money: every amount in the panel has this many decimal places (the seeds show "0.27819").
MONEY_DECIMAL_PLACES = 5
MONEY_MAX_DIGITS = 20
# Decimals shown for balances and totals (templates' `money` filter: core/money.py says the rule);
# charges, refunds, ledger rows and prices are always shown exactly.
PANEL_MONEY_DISPLAY_PLACES = env.int("PANEL_MONEY_DISPLAY_PLACES", default=2)

# Upstream providers.
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5.0)
PROVIDER_READ_TIMEOUT = env.float("PROVIDER_READ_TIMEOUT", default=30.0)
PROVIDER_SAFE_RETRIES = env.int("PROVIDER_SAFE_RETRIES", default=2)
PROVIDER_RETRY_BACKOFF = env.float("PROVIDER_RETRY_BACKOFF", default=0.5)
# Connect, TLS, headers and body of one request (retries included) end within this many seconds.
PROVIDER_REQUEST_DEADLINE = env.float("PROVIDER_REQUEST_DEADLINE", default=35.0)
# A status answer for 100 ids is a few KB; the services catalogue a few MB for 10,000 services.
PROVIDER_MAX_BODY_BYTES = env.int("PROVIDER_MAX_BODY_BYTES", default=4 * 1024 * 1024)
PROVIDER_MAX_CATALOG_BYTES = env.int("PROVIDER_MAX_CATALOG_BYTES", default=32 * 1024 * 1024)
# Provider URLs must reach the public internet (no loopback, private, link-local or metadata
# address), unless this is set: the demo and the tests run their simulator on localhost.
PROVIDER_ALLOW_PRIVATE_URLS = env.bool("PROVIDER_ALLOW_PRIVATE_URLS", default=False)
# Circuit breaker: after this many consecutive failures a provider is left alone for the backoff,
# which doubles with every failed probe up to the ceiling (seconds).
PROVIDER_CIRCUIT_FAILURES = env.int("PROVIDER_CIRCUIT_FAILURES", default=5)
PROVIDER_CIRCUIT_BACKOFF = env.int("PROVIDER_CIRCUIT_BACKOFF", default=60)
PROVIDER_CIRCUIT_MAX_BACKOFF = env.int("PROVIDER_CIRCUIT_MAX_BACKOFF", default=1800)
SERVICES_SYNC_INTERVAL = env.int("SERVICES_SYNC_INTERVAL", default=3600)

# Orders and workers.
ORDER_PLACING_STUCK_SECONDS = env.int("ORDER_PLACING_STUCK_SECONDS", default=600)
# How often each provider is polled, and how often orders still awaiting placement are swept.
ORDER_POLL_INTERVAL = env.int("ORDER_POLL_INTERVAL", default=60)
ORDER_PLACE_SWEEP_INTERVAL = env.int("ORDER_PLACE_SWEEP_INTERVAL", default=30)
# Seconds one provider's poll task may spend asking about statuses before it stops between calls;
# the orders it did not reach are the first of the next run. Below the poll interval, so a run
# usually ends before the next one is queued, and well below the task's soft time limit.
ORDER_POLL_BUDGET_SECONDS = env.float("ORDER_POLL_BUDGET_SECONDS", default=45.0)
# Placements (`add` requests) under way at once per provider; more wait, awaiting. 0: no cap.
PROVIDER_MAX_INFLIGHT_PLACEMENTS = env.int("PROVIDER_MAX_INFLIGHT_PLACEMENTS", default=4)

# Operator alerts (orders/services/alerts.py): checked every ALERT_CHECK_INTERVAL seconds, shown
# on the staff dashboard and e-mailed once to STAFF_ALERT_EMAILS (empty: the active staff allowed
# to view alerts). A provider is failing once all its calls have failed for
# ALERT_PROVIDER_FAILING_MINUTES. An order is stuck once it has stayed in one status longer than
# ALERT_STUCK_FACTOR times its service's median completion time, never sooner than
# ALERT_STUCK_MIN_SECONDS; for a service with too few completed orders to know, after
# ALERT_STUCK_UNKNOWN_SECONDS.
ALERT_CHECK_INTERVAL = env.int("ALERT_CHECK_INTERVAL", default=300)
ALERT_PROVIDER_FAILING_MINUTES = env.int("ALERT_PROVIDER_FAILING_MINUTES", default=10)
ALERT_STUCK_FACTOR = env.float("ALERT_STUCK_FACTOR", default=3.0)
ALERT_STUCK_MIN_SECONDS = env.int("ALERT_STUCK_MIN_SECONDS", default=3600)
ALERT_STUCK_UNKNOWN_SECONDS = env.int("ALERT_STUCK_UNKNOWN_SECONDS", default=86400)
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=[])

# Payments. PANEL_BASE_URL (https://panel.example.com) is how gateways reach our webhooks and
# send customers back; unset, the address of the customer's own request is used.
PANEL_BASE_URL = env.str("PANEL_BASE_URL", default="").rstrip("/")
# The test gateway pays without money: it exists only with DEBUG or this set to 1.
PAYMENTS_TEST_GATEWAY = env.bool("PAYMENTS_TEST_GATEWAY", default=False)
PAYMENT_CONNECT_TIMEOUT = env.float("PAYMENT_CONNECT_TIMEOUT", default=5.0)
PAYMENT_READ_TIMEOUT = env.float("PAYMENT_READ_TIMEOUT", default=20.0)
# The sweep asks a gateway about a deposit still pending after this many minutes, then again
# every DEPOSIT_RECHECK_SECONDS until it is paid or expires.
DEPOSIT_CHECK_AFTER_MINUTES = env.int("DEPOSIT_CHECK_AFTER_MINUTES", default=10)
DEPOSIT_RECHECK_SECONDS = env.int("DEPOSIT_RECHECK_SECONDS", default=300)
DEPOSIT_SWEEP_INTERVAL = env.int("DEPOSIT_SWEEP_INTERVAL", default=120)


# Affiliates: a referral link's cookie lasts this many days; a referrer earns this percent of each deposit of the
# customers they referred (a referrer's own percent, set in the admin, wins), and moves or is paid from this minimum.
def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ImproperlyConfigured(f"{name} must be a number such as 5 or 2.5, not {text!r}.")
    return value


AFFILIATE_COOKIE_DAYS = env.int("AFFILIATE_COOKIE_DAYS", default=30)
AFFILIATE_COMMISSION_PERCENT = _decimal(
    "AFFILIATE_COMMISSION_PERCENT", env.str("AFFILIATE_COMMISSION_PERCENT", default="5")
)
AFFILIATE_MIN_PAYOUT = _decimal("AFFILIATE_MIN_PAYOUT", env.str("AFFILIATE_MIN_PAYOUT", default="10"))
if not (0 <= AFFILIATE_COMMISSION_PERCENT <= 100 and AFFILIATE_MIN_PAYOUT > 0 and AFFILIATE_COOKIE_DAYS > 0):
    raise ImproperlyConfigured(
        "AFFILIATE_COMMISSION_PERCENT must be 0 to 100, AFFILIATE_MIN_PAYOUT and AFFILIATE_COOKIE_DAYS above 0."
    )

# Display currency: rates fetched for reading prices in another currency (empty URL: the operator's rates only).
DISPLAY_CURRENCY_RATES_URL = env.str("DISPLAY_CURRENCY_RATES_URL", default="")
DISPLAY_CURRENCY_RATES_INTERVAL = env.int("DISPLAY_CURRENCY_RATES_INTERVAL", default=86400)

# Our own /api/v2 throttling (per key and per IP).
API_THROTTLE_KEY_RATE = env.str("API_THROTTLE_KEY_RATE", default="3000/min")
API_THROTTLE_IP_RATE = env.str("API_THROTTLE_IP_RATE", default="6000/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Our own throttles read core.client_ip; this keeps any DRF throttle to the same rule.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.JSONParser",
    ],
}

# Celery: at-least-once delivery. Tasks acknowledge after they finish and are safe to run
# twice; the time limits stay well below the Redis visibility timeout so that a running
# task is never handed to a second worker while the first is still on it.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_queue_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_queue_dir / "queue"),
        "data_folder_out": str(_celery_queue_dir / "queue"),
        "processed_folder": str(_celery_queue_dir / "processed"),
        "control_folder": str(_celery_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if ORDER_POLL_BUDGET_SECONDS > CELERY_TASK_SOFT_TIME_LIMIT / 2:
    # A run may still be in its last upstream call (with retries) when the budget ends.
    raise ImproperlyConfigured(
        f"ORDER_POLL_BUDGET_SECONDS must be at most {CELERY_TASK_SOFT_TIME_LIMIT // 2} "
        f"(half the task soft time limit), not {ORDER_POLL_BUDGET_SECONDS:g}."
    )

# Queues: placement (`add`s wait on upstream panels), polling (one task per provider), sync
# (catalog and balances) and default (the dispatchers). Every queue is declared here, so a
# plain `celery -A panel worker` consumes them all; `-Q placement` and so on dedicate a worker.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in ("default", "placement", "polling", "sync")
]
CELERY_TASK_ROUTES = {
    "orders.tasks.order_place_task": {"queue": "placement"},
    "orders.tasks.provider_poll_task": {"queue": "polling"},
    "orders.tasks.services_sync_task": {"queue": "sync"},
    "orders.tasks.provider_balances_task": {"queue": "sync"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

CELERY_BEAT_SCHEDULE = {
    "orders-place-sweep": {"task": "orders.tasks.orders_place_sweep", "schedule": ORDER_PLACE_SWEEP_INTERVAL},
    "orders-poll": {"task": "orders.tasks.orders_poll_dispatch", "schedule": ORDER_POLL_INTERVAL},
    "orders-dripfeed": {"task": "orders.tasks.dripfeed_task", "schedule": ORDER_PLACE_SWEEP_INTERVAL},
    "services-sync": {"task": "orders.tasks.services_sync_task", "schedule": SERVICES_SYNC_INTERVAL},
    "provider-balances": {"task": "orders.tasks.provider_balances_task", "schedule": 900},
    "notifications": {"task": "support.tasks.notifications_task", "schedule": NOTIFICATIONS_INTERVAL},
    "alerts-telegram": {"task": "support.tasks.alerts_telegram_task", "schedule": ALERT_CHECK_INTERVAL},
    "deposits-sweep": {"task": "billing.tasks.deposits_sweep_task", "schedule": DEPOSIT_SWEEP_INTERVAL},
    "alerts-check": {"task": "orders.tasks.alerts_check_task", "schedule": ALERT_CHECK_INTERVAL},
    "display-rates": {"task": "panel.tasks.display_rates_task", "schedule": DISPLAY_CURRENCY_RATES_INTERVAL},
}

# The admin's theme (django-unfold): its sidebar and home (the dashboard) are built in panel/admin_site.py.
UNFOLD = {
    "SITE_TITLE": f"{PANEL_NAME} admin",
    "SITE_HEADER": PANEL_NAME,
    "SITE_SYMBOL": "storefront",
    "SHOW_HISTORY": False,
    "DASHBOARD_CALLBACK": "panel.admin_site.admin_home",
    "SIDEBAR": {"show_search": True, "show_all_applications": True, "navigation": "panel.admin_site.admin_sidebar"},
}
