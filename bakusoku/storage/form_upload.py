"""Streaming S3 POST form uploads: fields, then the policy check, then the file straight to disk."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from xml.sax.saxutils import escape

from python_multipart.multipart import MultipartParser, parse_options_header

from bakusoku.storage.base import DEFAULT_CONTENT_TYPE, ObjectInfo
from bakusoku.storage.errors import S3Error, xml_text
from bakusoku.storage.keys import check_key
from bakusoku.storage.local import LocalObjectStore, PendingObject
from bakusoku.storage.notifications import RequestContext
from bakusoku.storage.post_policy import PostPolicy, lower_fields, verify_post_policy

MAX_FIELDS_BYTES = 20 * 1024  # S3 refuses more than 20 KB of form fields before the file


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` body, or S3's 400 ``MalformedPOSTRequest``."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise _malformed(
            "The body of your POST request is not well-formed multipart/form-data: send"
            " Content-Type: multipart/form-data with a boundary."
        )
    return boundary


class FormUpload:
    """Feed the raw body with :meth:`write`, then :meth:`finish` for the pending object.

    Fields up to the ``file`` field are collected; at the file the policy is verified (so nothing
    is written for a refused form), and the file's bytes stream into the store within the policy's
    ``content-length-range``. As on S3, fields after the file are ignored.
    """

    def __init__(
        self,
        store: LocalObjectStore,
        bucket: str,
        boundary: bytes,
        *,
        credentials: Mapping[str, str],
        region: str,
        now: datetime,
        max_object_size: int,
        context: Callable[[PostPolicy], RequestContext],
    ) -> None:
        self._store = store
        self._bucket = bucket
        self._credentials = credentials
        self._region = region
        self._now = now
        self._max_object_size = max_object_size
        self._context = context
        self.fields: dict[str, str] = {}
        self.policy: PostPolicy | None = None
        self.pending: PendingObject | None = None
        self._fields_bytes = 0
        self._file_done = False
        self._part_headers: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._part: str | None = None  # "field", "file" or "ignore"
        self._part_name = ""
        self._buffer = bytearray()
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    def write(self, chunk: bytes) -> None:
        """Parse the next piece of the body; raises :class:`S3Error` as soon as S3 would."""
        try:
            self._parser.write(chunk)
        except S3Error:
            self.abort()
            raise
        except Exception as exc:
            self.abort()
            raise _malformed(f"The body of your POST request is not well-formed: {exc}.") from exc

    def finish(self) -> PendingObject:
        """The pending object once the whole body is parsed; commit it to store the file."""
        if self.pending is None:
            raise S3Error(
                "POST requires exactly one file upload per request: add a 'file' field as the"
                " last field of the form.",
                code="InvalidArgument",
                status=400,
                extra={"ArgumentName": "file", "ArgumentValue": "0"},
            )
        if not self._file_done or not self._ended:
            self.abort()
            raise _malformed("The body of your POST request ended before its closing boundary.")
        return self.pending

    def abort(self) -> None:
        if self.pending is not None:
            self.pending.abort()

    # ---- parser callbacks --------------------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._part_headers = {}
        self._part = None
        self._buffer.clear()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._part_headers[name] = self._header_value.decode("utf-8", "replace").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._part_headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._file_done or self.pending is not None:
            self._part = "ignore"
        elif name.lower() == "file":
            filename = options.get(b"filename")
            self._start_file(filename.decode("utf-8", "replace") if filename is not None else None)
            self._part = "file"
        else:
            self._part = "field"
            self._part_name = name

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file" and self.pending is not None:
            self.pending.write(data[start:end])
        elif self._part == "field":
            self._fields_bytes += end - start
            if self._fields_bytes > MAX_FIELDS_BYTES:
                raise S3Error(
                    f"Your POST request fields preceding the upload file were too large: keep them"
                    f" under {MAX_FIELDS_BYTES} bytes.",
                    code="MaxPostPreDataLengthExceededError",
                    status=400,
                    extra={"MaxPostPreDataLength": str(MAX_FIELDS_BYTES)},
                )
            self._buffer += data[start:end]

    def _on_part_end(self) -> None:
        if self._part == "field":
            self.fields.setdefault(self._part_name, self._buffer.decode("utf-8", "replace"))
        elif self._part == "file":
            self._file_done = True
        self._part = None

    def _on_end(self) -> None:
        self._ended = True

    def _start_file(self, filename: str | None) -> None:
        policy = verify_post_policy(
            self.fields,
            bucket=self._bucket,
            credentials=self._credentials,
            region=self._region,
            now=self._now,
            filename=filename,
        )
        self.policy = policy
        form = lower_fields(self.fields)
        limit = self._max_object_size
        if policy.max_size is not None:
            limit = min(limit, policy.max_size)
        metadata = {n: v for n, v in form.items() if n.startswith("x-amz-meta-")}
        self.pending = self._store.begin_put(
            self._bucket,
            check_key(policy.key),
            content_type=form.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata=metadata,
            max_size=limit,
            min_size=policy.min_size,
            context=self._context(policy),
        )


def post_response_fields(form: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(success_action_redirect, success_action_status)`` of the form (names in any case)."""
    lowered = lower_fields(form)
    return lowered.get("success_action_redirect"), lowered.get("success_action_status")


def post_response_xml(location: str, info: ObjectInfo) -> bytes:
    """The body S3 returns for ``success_action_status=201``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
        f"<Location>{escape(location)}</Location><Bucket>{escape(info.bucket)}</Bucket>"
        f"<Key>{xml_text(info.key)}</Key><ETag>{escape(info.etag)}</ETag></PostResponse>"
    ).encode()


def _malformed(message: str) -> S3Error:
    return S3Error(message, code="MalformedPOSTRequest", status=400)
