"""OCT Clinic settings.

Everything comes from the environment (12-factor), read through django-environ's typed helpers.
`DJANGO_ENV` picks the shape:

* ``development`` (default, what ``make run`` uses): SQLite, local media, a Celery broker on the
  filesystem so no server is needed. ``DATABASE_URL`` / ``REDIS_URL`` switch to PostgreSQL/Redis.
* ``production`` (docker-compose): refuses to start without ``SECRET_KEY``, ``ALLOWED_HOSTS`` and
  ``DATABASE_URL``, because silently falling back to a dev default would put PHI at risk.

Secrets (``SECRET_VARIABLES``) may also be given as ``NAME_FILE`` pointing at a file (Docker secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Docker-style secrets: SECRET_KEY_FILE=/run/secrets/key sets SECRET_KEY from the file's contents.
# Only these names, so unrelated *_FILE variables of the host never leak into settings.
SECRET_VARIABLES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
for _name in SECRET_VARIABLES:
    _file = os.environ.get(f"{_name}_FILE")
    if _file and not os.environ.get(_name):
        _path = Path(_file)
        if not _path.is_file():
            raise ImproperlyConfigured(f"{_name}_FILE points to a file that does not exist")
        os.environ[_name] = _path.read_text().strip()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development, production or test")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    _missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not env.str(name, default="")]
    if _missing:
        raise ImproperlyConfigured(f"Production mode needs these environment variables: {', '.join(_missing)}")

# Where the embedded default keeps its database, media and broker spool.
DATA_DIR = Path(env.str("OCT_DATA_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "guardian",
    "auditlog",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_prometheus",
    # Our domain apps. Dependencies point one way: scheduling -> patients, scans -> patients,
    # scans -> mlcore; octclinic (roles, health, demo) sits on top of them all.
    "patients",
    "scheduling",
    "mlcore",
    "scans",
    "octclinic",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "octclinic.outage.DatabaseOutageMiddleware",  # a database outage answers 503, not 500 (octclinic/outage.py)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "octclinic.sessions.SessionExpiryMiddleware",
    "octclinic.two_factor.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "octclinic.audit_actor.AuditActorMiddleware",  # auditlog's, without a signal (dis)connect per request
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "octclinic.urls"
WSGI_APPLICATION = "octclinic.wsgi.application"

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
                "octclinic.context_processors.clinic",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite is the embedded default. WAL and IMMEDIATE transactions let the web process, the worker
# and beat write concurrently without "database is locked" surprises.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Persistent connections with health checks: fast, and recovers by itself after a DB restart.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Requests run side by side, so a parallel plan makes one big count finish sooner by taking the CPU the
    # others are waiting for: on 2 cores, parallel workers off took the doctor's dashboard with 100,000 scans
    # waiting from p95 145 to 98 ms under load (bench_load). A larger database server may allow some.
    _parallel_workers = env.int("DB_PARALLEL_WORKERS_PER_QUERY", default=0)
    if _parallel_workers < 0:
        raise ImproperlyConfigured("DB_PARALLEL_WORKERS_PER_QUERY must be 0 or more")
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _url_options = _options.get("options", "")  # a DATABASE_URL's own ?options= are kept
    _options["options"] = f"{_url_options} -c max_parallel_workers_per_gather={_parallel_workers}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "octclinic.auth_backends.ModelBackend",  # Django's, with permissions read in one query
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
ANONYMOUS_USER_NAME = None  # guardian: no anonymous object permissions in a clinic

# --- I18n / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True  # stored in UTC, always
# The clinic's wall-clock zone: opening hours and every time shown to staff are in this zone.
TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="Europe/Berlin")
CLINIC_NAME = env.str("CLINIC_NAME", default="OCT Clinic")

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Media is never served by URL: files go out only through views that check the patient permission.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
# Django needs a MEDIA_URL, but no URL pattern serves it: a request there is a plain 404.
MEDIA_URL = "/media-is-not-served/"

STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "access_key": env.str("S3_ACCESS_KEY_ID"),
            "secret_key": env.str("S3_SECRET_ACCESS_KEY"),
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif STORAGE_BACKEND == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
else:
    raise ImproperlyConfigured("STORAGE_BACKEND must be 'local' or 's3'")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = DATA_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # An unacknowledged task (its worker died) is redelivered after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
else:
    # A broker that needs no server: kombu's filesystem transport, shared by web, worker and beat.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        # The spool is polled; 0.1 s keeps "AI reading within a second of upload" on the embedded default.
        "polling_interval": 0.1,
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Training and never classification: model training, gating and evaluation run on their own queue, consumed by
# their own worker (`worker-training`); AI readings stay on the default queue (octclinic.celery.task_route).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="celery")
CELERY_TRAINING_QUEUE = env.str("CELERY_TRAINING_QUEUE", default="training")
CELERY_CLASSIFICATION_QUEUE = CELERY_TASK_DEFAULT_QUEUE
CELERY_CLASSIFICATION_TASKS = ("scans.tasks.classify_scan", "scans.tasks.shadow_read_scan")
CELERY_TASK_ROUTES = ("octclinic.celery.task_route",)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Cache ----------------------------------------------------------------------------------
# The API's rate-limit counters must be shared by every web process (gunicorn runs several), so with Redis
# they live there: in the next database number after the broker's, so clearing the cache can never touch
# the task queue, and with short timeouts, because the throttle lets requests through when the cache is
# down (octclinic/api_throttles.py). Without Redis (make run) each process keeps its own.


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _next_redis_database(url: str) -> str:
    parts = urlsplit(url)
    database = parts.path.strip("/") or "0"
    if parts.scheme not in ("redis", "rediss") or not database.isdigit() or int(database) >= 15:
        raise ImproperlyConfigured(
            "CACHE_URL can't be derived from REDIS_URL (it takes the next database number after a "
            "redis:// URL's, up to 15); set CACHE_URL"
        )
    return urlunsplit(parts._replace(path=f"/{int(database) + 1}"))


CACHE_URL = env.str("CACHE_URL", default=_next_redis_database(REDIS_URL) if REDIS_URL else "")
if CACHE_URL and urlsplit(CACHE_URL).scheme not in REDIS_SCHEMES:
    raise ImproperlyConfigured("CACHE_URL must be a redis://, rediss:// or unix:// URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "octclinic",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The per-device AI-doctor agreement (clinic admin dashboard, models page) aggregates every reading and review of
# the deployed version; its rows are cached this long. Off in the test suite, whose tests share one cache.
DEVICE_AGREEMENT_CACHE_SECONDS = env.int("DEVICE_AGREEMENT_CACHE_SECONDS", default=0 if DJANGO_ENV == "test" else 60)

# --- Scheduling rules -----------------------------------------------------------------------
# A scheduled appointment still not checked in this long after its start becomes a no-show.
NO_SHOW_AFTER_MINUTES = env.int("NO_SHOW_AFTER_MINUTES", default=60)
DEFAULT_APPOINTMENT_MINUTES = env.int("DEFAULT_APPOINTMENT_MINUTES", default=20)

# --- Scan intake -----------------------------------------------------------------------------
# Limits protect the server from oversized files and decompression bombs; see docs/scans.md.
SCANS_MAX_UPLOAD_BYTES = env.int("SCANS_MAX_UPLOAD_BYTES", default=200 * 1024 * 1024)
SCANS_MAX_PIXELS_PER_FRAME = env.int("SCANS_MAX_PIXELS_PER_FRAME", default=40_000_000)
SCANS_MAX_TOTAL_PIXELS = env.int("SCANS_MAX_TOTAL_PIXELS", default=400_000_000)
SCANS_MAX_FRAMES = env.int("SCANS_MAX_FRAMES", default=1024)
SCANS_ZIP_MAX_FILES = env.int("SCANS_ZIP_MAX_FILES", default=150_000)
SCANS_ZIP_MAX_TOTAL_BYTES = env.int("SCANS_ZIP_MAX_TOTAL_BYTES", default=20 * 1024**3)
SCANS_ZIP_MAX_RATIO = env.int("SCANS_ZIP_MAX_RATIO", default=200)
SCANS_PREVIEW_MAX_SIDE = env.int("SCANS_PREVIEW_MAX_SIDE", default=2048)
SCANS_THUMBNAIL_MAX_SIDE = env.int("SCANS_THUMBNAIL_MAX_SIDE", default=256)
SCANS_ORPHAN_GRACE_MINUTES = env.int("SCANS_ORPHAN_GRACE_MINUTES", default=60)
# Server folders the admin's dataset import may read (the management command may read any path).
SCANS_DATASET_IMPORT_ROOTS = env.list("SCANS_DATASET_IMPORT_ROOTS", default=[])
# Salt for de-identified UIDs; empty means derived from SECRET_KEY.
SCANS_DEID_UID_SALT = env.str("SCANS_DEID_UID_SALT", default="")
# Django's own upload limits sit just above ours so our clearer message wins.
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=200)
# AI readings per scan: how many frames of a volume staff may choose for the AI (docs/scans.md).
SCANS_MAX_AI_FRAMES = env.int("SCANS_MAX_AI_FRAMES", default=32)

# --- DICOM networking (see docs/dicom.md) ---------------------------------------------------------
# The receiver / worklist process (`manage.py dicom_server`): OCT devices send to and query this AE.
DICOM_AE_TITLE = env.str("DICOM_AE_TITLE", default="OCTCLINIC")
DICOM_BIND_ADDRESS = env.str("DICOM_BIND_ADDRESS", default="127.0.0.1")
DICOM_PORT = env.int("DICOM_PORT", default=11112)
# Calling AE titles allowed to associate (devices and the PACS); any other sender is rejected at association.
# Empty: the DICOM process refuses to start, so a receiver reachable on the network never takes images from
# anyone. Production must list them; elsewhere the dcmtk tools' default titles and the demo clinic's two devices
# (OCT1, OCT2) are allowed for trying `make run`.
DICOM_ALLOWED_CALLING_AE_TITLES = env.list(
    "DICOM_ALLOWED_CALLING_AE_TITLES",
    default=[] if PRODUCTION else ["STORESCU", "FINDSCU", "ECHOSCU", "GETSCU", "OCT1", "OCT2"],
)
# The system account received instances are attributed to in the audit trail (created on first use, no login).
DICOM_SERVICE_USERNAME = env.str("DICOM_SERVICE_USERNAME", default="dicom-receiver")
# Network timeouts in seconds (DIMSE messages, idle associations, a stalled read).
DICOM_TIMEOUT_SECONDS = env.int("DICOM_TIMEOUT_SECONDS", default=30)
# The DICOM port's guards (docs/dicom.md, "Connection limits"): a connection that has not sent its whole
# association request this long after connecting is closed; concurrent associations; open connections in all and
# per source address (beyond them a connection is closed at once).
DICOM_ASSOCIATION_TIMEOUT_SECONDS = env.int("DICOM_ASSOCIATION_TIMEOUT_SECONDS", default=10)
DICOM_MAX_ASSOCIATIONS = env.int("DICOM_MAX_ASSOCIATIONS", default=10)
DICOM_MAX_CONNECTIONS = env.int("DICOM_MAX_CONNECTIONS", default=100)
DICOM_MAX_CONNECTIONS_PER_ADDRESS = env.int("DICOM_MAX_CONNECTIONS_PER_ADDRESS", default=8)
# One configured PACS for earlier studies (query by Patient ID, retrieve with C-GET); empty PACS_HOST disables.
PACS_AE_TITLE = env.str("PACS_AE_TITLE", default="PACS")
PACS_HOST = env.str("PACS_HOST", default="")
PACS_PORT = env.int("PACS_PORT", default=104)
# Queries and report stores made while a user waits for the page: a PACS that doesn't answer must not hold the
# web worker until gunicorn kills it (30 s), so these give up sooner than background retrievals.
PACS_INTERACTIVE_TIMEOUT_SECONDS = env.int("PACS_INTERACTIVE_TIMEOUT_SECONDS", default=8)

# --- AI model serving (see docs/mlcore.md) --------------------------------------------------------
# A reading below this confidence, or above this uncertainty, is flagged "needs careful review".
MLCORE_CONFIDENCE_THRESHOLD = env.float("MLCORE_CONFIDENCE_THRESHOLD", default=0.70)
MLCORE_UNCERTAINTY_THRESHOLD = env.float("MLCORE_UNCERTAINTY_THRESHOLD", default=0.50)
MLCORE_RUNTIME = env.str("MLCORE_RUNTIME", default="auto")  # auto | litert | tensorflow
# Each trained version gets its LiteRT export (the serving runtime under "auto"), verified against Keras. Off in the
# test suite, where it cost ~28 s of every training on 2 cores; the tests that serve a trained version switch it on.
MLCORE_EXPORT_LITERT = env.bool("MLCORE_EXPORT_LITERT", default=DJANGO_ENV != "test")
# Threads per worker process: with several worker processes, give each cores / concurrency.
MLCORE_NUM_THREADS = env.int("MLCORE_NUM_THREADS", default=os.cpu_count() or 1)
MLCORE_BATCH_SIZE = env.int("MLCORE_BATCH_SIZE", default=16)
MLCORE_WARM_ON_WORKER_START = env.bool("MLCORE_WARM_ON_WORKER_START", default=True)
MLCORE_CACHE_DIR = env.str("MLCORE_CACHE_DIR", default=str(DATA_DIR / "mlcore-cache"))
# Server folders that POST /api/v1/model-versions/{version}/evaluate/ may read (labelled test sets).
MLCORE_EVALUATION_ROOTS = env.list("MLCORE_EVALUATION_ROOTS", default=[])

# --- AI model lifecycle: training, gating, retraining (see docs/mlcore.md) ------------------------------
MLCORE_TRAIN_EPOCHS = env.int("MLCORE_TRAIN_EPOCHS", default=20)
MLCORE_TRAIN_INPUT_SIZE = env.int("MLCORE_TRAIN_INPUT_SIZE", default=128)
MLCORE_TRAIN_BASE_WEIGHTS = env.str("MLCORE_TRAIN_BASE_WEIGHTS", default="")  # "" (none) | imagenet | path
MLCORE_TRAIN_BATCH_SIZE = env.int("MLCORE_TRAIN_BATCH_SIZE", default=32)
MLCORE_TRAIN_LEARNING_RATE = env.float("MLCORE_TRAIN_LEARNING_RATE", default=1e-3)
MLCORE_TRAINING_TIME_LIMIT = env.int("MLCORE_TRAINING_TIME_LIMIT", default=6 * 60 * 60)
MLCORE_TRAINING_STALE_MINUTES = env.int("MLCORE_TRAINING_STALE_MINUTES", default=120)
MLCORE_GATE_MARGIN = env.float("MLCORE_GATE_MARGIN", default=0.01)
MLCORE_GATE_URGENT_RECALL_FLOOR = env.float("MLCORE_GATE_URGENT_RECALL_FLOOR", default=0.80)
MLCORE_RETRAIN_MIN_NEW_LABELS = env.int("MLCORE_RETRAIN_MIN_NEW_LABELS", default=100)

# --- Doctor review, dashboards and exports (see docs/review.md) --------------------------------
# How long a reading of each urgency may wait for a doctor before the queue shows it overdue (hours).
REVIEW_TARGET_HOURS = {
    "urgent": env.float("REVIEW_TARGET_HOURS_URGENT", default=24),
    "routine": env.float("REVIEW_TARGET_HOURS_ROUTINE", default=168),
    "observation": env.float("REVIEW_TARGET_HOURS_OBSERVATION", default=720),
}
# Drift warning on the clinic dashboard: a week's AI-doctor agreement (with at least MIN_REVIEWS decisions)
# below MIN_AGREEMENT, or more than MAX_DROP under the model version's earlier weeks.
REVIEW_DRIFT_MIN_AGREEMENT = env.float("REVIEW_DRIFT_MIN_AGREEMENT", default=0.80)
REVIEW_DRIFT_MAX_DROP = env.float("REVIEW_DRIFT_MAX_DROP", default=0.15)
REVIEW_DRIFT_MIN_REVIEWS = env.int("REVIEW_DRIFT_MIN_REVIEWS", default=5)

# --- REST API (see docs/api.md) ---------------------------------------------------------------
# Per-client rate limits ("N/sec|min|hour|day"; empty disables): a token is one client, a session its user.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")
# An Idempotency-Key's claim with no answer after this long was abandoned (its request's database went away, or
# its worker was killed; gunicorn's own timeout is 30 s): the next retry with the key takes it over.
IDEMPOTENCY_CLAIM_SECONDS = env.int("IDEMPOTENCY_CLAIM_SECONDS", default=120)
# Requests without credentials, and failed tokens, are limited per client address (octclinic/api_throttles.py).
# The test suite's many anonymous requests share one address, so there they are off unless a test sets them.
API_ANON_THROTTLE_RATE = env.str("API_ANON_THROTTLE_RATE", default="" if DJANGO_ENV == "test" else "60/min")
API_BAD_TOKEN_THROTTLE_RATE = env.str("API_BAD_TOKEN_THROTTLE_RATE", default="" if DJANGO_ENV == "test" else "20/min")
# How many reverse proxies in front of the app append to X-Forwarded-For: the client address the per-address
# limits count is the one the outermost trusted proxy saw (0: the socket's address; the header is ignored).
API_TRUSTED_PROXIES = env.int("API_TRUSTED_PROXIES", default=0)
# Request body limits of the API (octclinic/api_parsers.py): JSON and urlencoded bodies above this are a 413;
# JSON nested deeper than API_MAX_JSON_DEPTH is a 400. Multipart uploads keep Django's limits below.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# Django's own: non-file form data in memory, form fields and query parameters per request.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
# last_used_at of a token is written at most this often (seconds), so reads don't all become writes.
API_TOKEN_LAST_USED_GRANULARITY_SECONDS = env.int("API_TOKEN_LAST_USED_GRANULARITY_SECONDS", default=60)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "octclinic.api_auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # Last: counts the requests nobody authenticated, per address, before they get their 401.
        "octclinic.api_throttles.AnonymousThrottleAuthentication",
    ],
    # Refuses by default: each view lists what every action needs (octclinic/api_permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["octclinic.api_permissions.RolePermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["octclinic.api_throttles.ApiClientThrottle"],
    "NUM_PROXIES": API_TRUSTED_PROXIES,
    "DEFAULT_SCHEMA_CLASS": "octclinic.api_schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "octclinic.api_pagination.ApiPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_FILTER_BACKENDS": [
        "octclinic.api_filters.FilterBackend",
        "octclinic.api_filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["octclinic.api_renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "octclinic.api_parsers.JSONParser",
        "octclinic.api_parsers.MultiPartParser",
        "octclinic.api_parsers.FormParser",
    ],
    # A database outage is a 503 (octclinic/outage.py); everything else octclinic.api_errors.api_exception_handler.
    "EXCEPTION_HANDLER": "octclinic.outage.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OCT Clinic API",
    "DESCRIPTION": "Integrations (EHR, PACS bridges, scripts) do here what staff do in the browser. "
    "Authenticate with `Authorization: Bearer <token>`; errors always have the shape "
    '`{"error": {"code", "message", "fields"}}`. See docs/api.md.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema states what the server enforces (schemathesis --checks all in the test suite).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "octclinic.api_schema.no_nul_in_request_strings",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; name each enum after its model so clients get stable names.
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "scheduling.models.AppointmentStatus",
        "ModelVersionStatusEnum": "mlcore.models.ModelVersion.Status",
        "ScanAiStatusEnum": "scans.models.AiStatus",
    },
}

# --- Audit ----------------------------------------------------------------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False
# Fixture loads (restore from backup) bring their own audit entries; they must not add new ones.
AUDITLOG_DISABLE_ON_RAW_SAVE = True
# AI readings are in the audit trail like scans and reviews (the soak test found them missing): the models above
# register themselves in their apps; a reading has no app of its own to do it.
AUDITLOG_INCLUDE_TRACKING_MODELS = ("scans.Prediction",)

# --- Security and accounts ------------------------------------------------------------------
# Lockout after repeated failed logins (django-axes), per username and address together: a guesser is
# stopped, yet can't lock a colleague out from elsewhere or a whole clinic behind one NAT address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "token"]
# Sessions: an idle timeout (refreshed by every request) and an absolute limit from login.
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Optional TOTP second factor (django-otp); required for these roles when listed.
OTP_REQUIRED_FOR_ROLES = env.list("OTP_REQUIRED_FOR_ROLES", default=[])
OTP_TOTP_ISSUER = CLINIC_NAME
# A TOTP secret is a way to act as its user: the admin never shows another user's (no key field, and the
# config/QR-code pages answer 403). Each user enrols on their own two-factor page (docs/operations.md).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# /metrics (Prometheus) answers only with "Authorization: Bearer <METRICS_TOKEN>" when this is set;
# in production it is required, so counts never leak to the open network.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content security policy (django-csp): scripts only from our own vendored files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # inline style attributes (admin, htmx indicators)
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    CSRF_COOKIE_HTTPONLY = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging --------------------------------------------------------------------------------
# Messages only, never request bodies or querystrings: PHI must not reach application logs.
# JSON lines in production (one object per record, for the log shipper), plain text elsewhere.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    # Query strings can hold patient data (an old admin search link, a client's ?mrn=): never in a log line.
    "filters": {"strip_query_strings": {"()": "octclinic.log_filters.StripQueryStrings"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["strip_query_strings"]}
    },
    "loggers": {
        # The dev server's access log (make run): its request line, without the query string.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
