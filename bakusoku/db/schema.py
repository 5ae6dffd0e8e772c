"""Tables of bakusoku's database, as SQLAlchemy Core metadata (portable: SQLite, MySQL, PostgreSQL).

The workflow engine's own tables (executions, their history) live in ``bakusoku.workflow.tables``;
``metadata`` holds copies of them too, so the migrations (and the tests' ``tests.schema``) see
every table.

Times are UTC epoch seconds in DOUBLE columns: sortable and exact on all three databases.
"""

import sqlalchemy as sa

from bakusoku.workflow.tables import metadata as workflow_metadata

metadata = sa.MetaData()

photos = sa.Table(
    "photos",
    metadata,
    sa.Column("photo_id", sa.String(36), primary_key=True),
    sa.Column("album", sa.String(128), nullable=False),
    sa.Column("bucket", sa.String(63), nullable=False),
    sa.Column("object_key", sa.String(512), nullable=False),
    sa.Column("filename", sa.String(255), nullable=True),
    sa.Column("content_type", sa.String(64), nullable=True),
    sa.Column("declared_size", sa.BigInteger, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("etag", sa.String(64), nullable=True),
    sa.Column("byte_size", sa.BigInteger, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("taken_at", sa.String(32), nullable=True),
    sa.Column("renditions", sa.JSON, nullable=True),
    sa.Column("crop_box", sa.JSON, nullable=True),
    # What the photo's own bytes say (EXIF); gps only when the store_gps setting is on.
    sa.Column("image_format", sa.String(16), nullable=True),
    sa.Column("orientation", sa.SmallInteger, nullable=True),
    sa.Column("camera_make", sa.String(64), nullable=True),
    sa.Column("camera_model", sa.String(64), nullable=True),
    sa.Column("lens", sa.String(128), nullable=True),
    sa.Column("exposure", sa.JSON, nullable=True),
    sa.Column("gps", sa.JSON, nullable=True),
    # Face boxes the print trim kept in frame, and the ThumbHash placeholder for the gallery.
    sa.Column("faces", sa.JSON, nullable=True),
    sa.Column("placeholder", sa.String(64), nullable=True),
    # The face index of the photo (bakusoku/faces): indexed | unindexed (its faces could not be
    # indexed; the photo is ready all the same) | off; null while the step has not run.
    sa.Column("face_index", sa.String(16), nullable=True),
    sa.Column("face_index_error", sa.Text, nullable=True),
    # status duplicate: the photo of the same album with the same sha256 that came first.
    sa.Column("duplicate_of", sa.String(36), nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("execution_name", sa.String(80), nullable=True),
    # W3C traceparent of the upload request, so the photo's processing joins the same trace.
    sa.Column("trace_parent", sa.String(55), nullable=True),
    # The S3 sequencer of the newest object event applied (zero-padded hex): an older event that
    # arrives late never rolls the row back.
    sa.Column("sequencer", sa.String(32), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.UniqueConstraint("bucket", "object_key", name="uq_photos_object"),
    # One index per listing the API makes: album (+ status), status alone, everything; newest first.
    sa.Index("ix_photos_album_created", "album", "created_at"),
    sa.Index("ix_photos_album_status_created", "album", "status", "created_at"),
    sa.Index("ix_photos_status_created", "status", "created_at"),
    sa.Index("ix_photos_created", "created_at"),
    sa.Index("ix_photos_sha256", "sha256"),
)

# Transactional outbox of object-created notifications: written in the same breath as the object, read by
# the event dispatcher, so an upload whose bytes are stored can never lose its event.
object_events = sa.Table(
    "object_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.String(63), nullable=False),
    sa.Column("object_key", sa.String(1024), nullable=False),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("sequencer", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("dispatched_at", sa.Double, nullable=True),
    sa.Index("ix_object_events_pending", "dispatched_at", "id"),
)

# Alerts of failed executions (and per-minute summaries of bursts), one row per message and
# channel: the unique key makes each message exactly once; the dispatcher delivers with back-off.
alert_outbox = sa.Table(
    "alert_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(160), nullable=False, unique=True),
    sa.Column("channel", sa.String(16), nullable=False),  # slack | webhook
    sa.Column("kind", sa.String(16), nullable=False),  # failure | grouped | summary | dead_letter
    sa.Column("execution_name", sa.String(80), nullable=True),
    sa.Column("window_start", sa.Double, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    # pending | delivered | grouped (inside a summary) | failed (gave up)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("last_error", sa.String(256), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("delivered_at", sa.Double, nullable=True),
    sa.Index("ix_alert_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_alert_outbox_window", "channel", "window_start"),
)

# Asynchronous invocations of the configuration's own functions (schedules, object prefixes), as
# Lambda queues them: the key makes a repeated event one invocation; a row still pending after a
# crash is invoked again; one that failed Lambda's retries stays as the dead-letter record.
async_invocations = sa.Table(
    "async_invocations",
    metadata,
    sa.Column("invocation_key", sa.String(160), primary_key=True),
    sa.Column("function", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # schedule | object
    sa.Column("event", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | succeeded | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_type", sa.String(128), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_async_invocations_status", "status", "created_at"),
)

# Service-scoped API keys (bakusoku/auth): only a SHA-256 of each key's secret is kept. albums is a
# JSON list of album names, or null for every album of the service.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(24), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("albums", sa.JSON, nullable=True),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | uploader | admin
    sa.Column("note", sa.String(200), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Column("revoked_by", sa.String(80), nullable=True),
    sa.Index("ix_api_keys_service", "service", "created_at"),
)

# Who did what, when: key creation and revocation, deletions, downloads of originals, re-drives.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),  # key:<key_id> | admin-token | cli:<user>
    sa.Column("action", sa.String(48), nullable=False),
    sa.Column("service", sa.String(32), nullable=True),
    sa.Column("target", sa.String(512), nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_service_at", "service", "at"),
)

# Race day (bakusoku/races): a race is an album of a service with a date and a course; its entry list
# and its timing results (one row per bib and checkpoint; revision counts corrections).
races = sa.Table(
    "races",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("race_date", sa.String(10), nullable=False),  # ISO date, local to the course
    sa.Column("course", sa.String(200), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    # A shipped design's name (races/designs) or a design file's path; none: the default design.
    sa.Column("certificate_design", sa.String(64), nullable=True),
)

race_entries = sa.Table(
    "race_entries",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("bib", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("surname", sa.String(120), nullable=True),
    sa.Column("category", sa.String(120), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

race_results = sa.Table(
    "race_results",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("bib", sa.String(16), primary_key=True),
    sa.Column("checkpoint", sa.String(32), primary_key=True),
    sa.Column("net_ms", sa.BigInteger, nullable=True),
    sa.Column("gun_ms", sa.BigInteger, nullable=True),
    sa.Column("finish_at", sa.String(40), nullable=True),
    sa.Column("name", sa.String(120), nullable=True),
    sa.Column("category", sa.String(120), nullable=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Index("ix_race_results_standings", "service", "album", "checkpoint", "net_ms"),
)

# Access codes parents get into one album with (bakusoku/auth/codes.py): ``code_id`` is the code's
# first characters, which find the row; only a salted scrypt hash of the rest is kept.
album_codes = sa.Table(
    "album_codes",
    metadata,
    sa.Column("code_id", sa.String(8), primary_key=True),
    sa.Column("secret_hash", sa.String(128), nullable=False),
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("album", sa.String(128), nullable=False),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Column("revoked_by", sa.String(80), nullable=True),
    sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_used_at", sa.Double, nullable=True),
    sa.Index("ix_album_codes_album", "service", "album", "created_at"),
)

# A parent's session, made by redeeming an album code: one service and one album, short-lived.
# Only a SHA-256 of the session's secret is kept. confirmed/rejected: JSON lists of face ids the
# parent said are (or are not) their child; never a reference photo.
parent_sessions = sa.Table(
    "parent_sessions",
    metadata,
    sa.Column("session_id", sa.String(24), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("code_id", sa.String(8), nullable=False),
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("album", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("ended_at", sa.Double, nullable=True),
    sa.Column("confirmed", sa.JSON, nullable=True),
    sa.Column("rejected", sa.JSON, nullable=True),
    sa.Index("ix_parent_sessions_code", "code_id"),
    sa.Index("ix_parent_sessions_expires", "expires_at"),
)

# Which runners a photo shows, by bib: read from the photo (ocr, rekognition) with a confidence, or
# tagged by staff (confidence 1). A photo with no row at or above the race's threshold is "bib unknown".
photo_bibs = sa.Table(
    "photo_bibs",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("photo_id", sa.String(36), primary_key=True),
    sa.Column("bib", sa.String(16), primary_key=True),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # ocr | rekognition | staff
    sa.Column("box", sa.JSON, nullable=True),  # where the number is, in displayed pixels
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Index("ix_photo_bibs_bib", "service", "album", "bib", "confidence"),
)

# Finisher certificates: one per result revision and finish photo of a bib (a correction or a
# better photo makes a new row; the newest is the runner's). status: making | ready | failed, with
# the code and a reason a person can act on; the keys of the L and 2L JPEGs and the PDF in the store.
certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("bib", sa.String(16), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),  # the finish result's revision
    sa.Column("photo_id", sa.String(36), primary_key=True),
    sa.Column("execution_name", sa.String(80), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("code", sa.String(64), nullable=True),
    sa.Column("reason", sa.String(512), nullable=True),
    sa.Column("design", sa.String(64), nullable=True),
    sa.Column("jpeg_l_key", sa.String(1024), nullable=True),
    sa.Column("jpeg_2l_key", sa.String(1024), nullable=True),
    sa.Column("pdf_key", sa.String(1024), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("ready_at", sa.Double, nullable=True),
    sa.Index("ix_certificates_bib", "service", "album", "bib", "updated_at"),
)

# Faces of the photos (bakusoku/faces): every detected face of a ready photo, scoped to its service
# and album. A face under the matching size is recorded with embedded false and no vector. vector is
# the embedded backend's float32 embedding as bytes; backend_face_id the Rekognition FaceId.
# suppressed: staff marked the face "do not publish" (consent): its photo leaves parent galleries.
faces = sa.Table(
    "faces",
    metadata,
    sa.Column("face_id", sa.String(36), primary_key=True),
    sa.Column("service", sa.String(32), nullable=False),  # "" for photos keyed before services
    sa.Column("album", sa.String(128), nullable=False),
    sa.Column("photo_id", sa.String(36), nullable=False),
    sa.Column("box", sa.JSON, nullable=False),  # [left, top, right, bottom], upright original px
    sa.Column("embedded", sa.Boolean, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=True),
    sa.Column("backend_face_id", sa.String(64), nullable=True),
    sa.Column("suppressed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.Double, nullable=False),
    # Search reads one album's vectors (and checks them for changes from this index alone);
    # erasure and deletes go by photo.
    sa.Index("ix_faces_album", "service", "album", "created_at"),
    sa.Index("ix_faces_photo", "photo_id"),
)

# Race day: who is told when a runner's photos or certificate are ready. ``address`` is an e-mail
# address, a LINE user id or a Web Push subscription (JSON); ``address_sha256`` keys its uniqueness.
# A row exists only once the bib's second factor (the surname on the entry list) was given.
runner_subscriptions = sa.Table(
    "runner_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("album", sa.String(128), nullable=False),
    sa.Column("bib", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # line | email | webpush
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("address_sha256", sa.String(64), nullable=False),
    sa.Column("verified_by", sa.String(16), nullable=False),  # surname | link
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("ended_at", sa.Double, nullable=True),
    sa.UniqueConstraint(
        "service", "album", "bib", "channel", "address_sha256", name="uq_runner_subscriptions"
    ),
    sa.Index("ix_runner_subscriptions_bib", "service", "album", "bib"),
)

# Messages to runners, delivered at least once by a background dispatcher. ``dedupe_key`` is the
# subscription, kind, race, bib and batch (the photos' window, the certificate's revision): a
# second report of the same batch adds nothing. ``retry_key`` is sent as LINE's X-Line-Retry-Key.
notification_outbox = sa.Table(
    "notification_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("subscription_id", sa.Integer, nullable=False),
    sa.Column("service", sa.String(32), nullable=False),
    sa.Column("album", sa.String(128), nullable=False),
    sa.Column("bib", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # photos | certificate
    sa.Column("batch", sa.String(40), nullable=False),
    sa.Column("retry_key", sa.String(36), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed (gave up)
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("last_error", sa.String(256), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("delivered_at", sa.Double, nullable=True),
    sa.Index("ix_notification_outbox_due", "status", "next_attempt_at"),
)

# A runner's privacy requests: ``face`` (hide my face in other runners' photos) or ``erase`` (my
# photos are taken away from every gallery). Each is audited in ``audit_log`` as well.
runner_erasure_requests = sa.Table(
    "runner_erasure_requests",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("bib", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # face | erase
    sa.Column("requested_at", sa.Double, nullable=False),
    sa.Column("done_at", sa.Double, nullable=True),
    sa.Column("photos", sa.JSON, nullable=True),  # photos erased, or faces marked "do not publish"
)

# When an album's sales window ends (set by staff); its faces are erased face_retention_days later.
# An album with no row here counts from its last upload.
album_sales = sa.Table(
    "album_sales",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("sales_end", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
)

# What staff decided of a race photo in the "bib unknown" set: ``no_bib`` (no bib visible) takes it
# out of the set; tagging it with bibs writes photo_bibs rows with the source ``staff`` instead.
bib_reviews = sa.Table(
    "bib_reviews",
    metadata,
    sa.Column("service", sa.String(32), primary_key=True),
    sa.Column("album", sa.String(128), primary_key=True),
    sa.Column("photo_id", sa.String(36), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # no_bib
    sa.Column("reviewed_by", sa.String(64), nullable=True),  # the key's id
    sa.Column("reviewed_at", sa.Double, nullable=False),
)

# The database holds the engine's tables too: one metadata for the migrations (and the tests'
# `create_schema`).
for _table in workflow_metadata.tables.values():
    _table.to_metadata(metadata)
