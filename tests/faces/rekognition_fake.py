"""A Rekognition-shaped fake of the six collection operations the face index uses.

moto's Rekognition does not implement collections (no CreateCollection, IndexFaces, SearchFaces,
SearchFacesByImage, DeleteFaces or DeleteCollection), so the tests answer them here. What is faked
and what is real:

- Real: botocore's ``rekognition`` service model. Every request is checked against it, strictly:
  botocore's own parameter validation (required members, types, minimums) plus what botocore does
  not check on the client side and Rekognition does on the server: maximum lengths and values,
  ``pattern`` regular expressions, enums. Every answer is checked against the operation's output
  shape the same way, so a shape the SDK would not parse fails the test, not production. Requests
  and answers cross botocore's real JSON-protocol serializer and parser (in process through
  botocore's ``before-send`` event; for the deployed stack, over HTTP: ``tests/aws``).
- Documented behaviour: ResourceNotFoundException for a collection that does not exist,
  ResourceAlreadyExistsException for one that does, InvalidParameterException "There are no faces
  in the image. Should be at least 1." for a faceless search image, "faceId was not found in the
  collection." for SearchFaces, InvalidImageFormatException for bytes that are not JPEG or PNG,
  ``MaxFaces=1`` indexing the largest face, matches at or above ``FaceMatchThreshold`` best first,
  the query face left out of SearchFaces.
- Fake: the face model. An image is one "face" whose likeness is its 8x8 grey thumbnail; two
  images are as similar as their thumbnails (100 - 100 x mean difference / 64, floored at 0). A
  near-uniform image holds no face, and any other image holds exactly one (the whole image): the
  fake cannot tell a face from a gradient. Tests draw faces with ``face_image`` (a seeded 8x8 pattern
  scaled up), so the same seed at any size or JPEG quality is the same person.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import regex
from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator
from PIL import Image

SERVICE = "rekognition"
TARGET_PREFIX = "RekognitionService."
FACE_MODEL_VERSION = "7.0"
_MODEL = botocore.session.get_session().get_service_model(SERVICE)
OPERATIONS = (
    "CreateCollection",
    "IndexFaces",
    "SearchFacesByImage",
    "SearchFaces",
    "DeleteFaces",
    "DeleteCollection",
)


class Fault(Exception):
    """An error answer: Rekognition's ``__type``, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class ModelViolation(AssertionError):
    """A request or answer that botocore's service model does not allow: a bug in the caller
    (requests) or in this fake (answers)."""


# ---- the service model, strictly ---------------------------------------------------------------


def check_shape(value: Any, shape: Any, path: str) -> list[str]:
    """What ``value`` breaks of ``shape`` beyond botocore's own validation: max, pattern, enum."""
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                problems += check_shape(value[name], member, f"{path}.{name}")
        unknown = set(value) - set(shape.members)
        problems += [f"{path}.{name}: not a member of {shape.name}" for name in sorted(unknown)]
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items, more than {meta['max']}")
        for i, item in enumerate(value):
            problems += check_shape(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} entries, more than {meta['max']}")
        for key, item in value.items():
            problems += check_shape(key, shape.key, f"{path} key {key!r}")
            problems += check_shape(item, shape.value, f"{path}[{key!r}]")
    elif shape.type_name == "string":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} characters, more than {meta['max']}")
        if "pattern" in meta and not regex.fullmatch(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']!r}")
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
    elif shape.type_name == "blob":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} bytes, more than {meta['max']}")
    elif shape.type_name in ("integer", "long", "float", "double"):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} is over {meta['max']}")
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: {value} is under {meta['min']}")
    return problems


def check_request(operation: str, params: Mapping[str, Any]) -> None:
    """Raise ModelViolation for a request Rekognition's model refuses (client or server side)."""
    shape = _MODEL.operation_model(operation).input_shape
    report = ParamValidator().validate(dict(params), shape)
    problems = [report.generate_report()] if report.has_errors() else []
    problems += check_shape(params, shape, operation)
    if problems:
        raise ModelViolation(f"{operation} request breaks the service model: {problems}")


def check_answer(operation: str, answer: Mapping[str, Any]) -> None:
    shape = _MODEL.operation_model(operation).output_shape
    report = ParamValidator().validate(dict(answer), shape)
    problems = [report.generate_report()] if report.has_errors() else []
    problems += check_shape(answer, shape, operation)
    if problems:
        raise ModelViolation(f"{operation} answer breaks the service model: {problems}")


def from_wire(value: Any, shape: Any) -> Any:
    """A JSON-protocol request body back to parameters: blobs are base64 on the wire."""
    if shape.type_name == "structure":
        return {
            k: from_wire(v, shape.members[k]) if k in shape.members else v for k, v in value.items()
        }
    if shape.type_name == "list":
        return [from_wire(v, shape.member) for v in value]
    if shape.type_name == "blob":
        return base64.b64decode(value)
    return value


# ---- the fake face model ------------------------------------------------------------------------


def face_image(seed: int, size: int = 160, quality: int = 90) -> bytes:
    """A JPEG "face": a seeded 8x8 grey pattern scaled to ``size`` px (same seed, same person)."""
    import random

    rng = random.Random(seed)
    grid = Image.new("L", (8, 8))
    grid.putdata([rng.randrange(256) for _ in range(64)])
    out = io.BytesIO()
    grid.resize((size, size), Image.Resampling.NEAREST).convert("RGB").save(
        out, "JPEG", quality=quality
    )
    return out.getvalue()


def blank_image(size: int = 160) -> bytes:
    """A JPEG with no face in it: one grey."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), (128, 128, 128)).save(out, "JPEG")
    return out.getvalue()


def _likeness(data: bytes) -> list[int] | None:
    """The image's 8x8 grey thumbnail; None when it holds no face (near-uniform)."""
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        raise Fault("InvalidImageFormatException", "Request has invalid image format")
    try:
        image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
        pixels = list(image.convert("L").resize((8, 8), Image.Resampling.BOX).tobytes())
    except OSError:
        raise Fault("InvalidImageFormatException", "Request has invalid image format") from None
    mean = sum(pixels) / 64
    if max(abs(p - mean) for p in pixels) < 8:
        return None
    return [int(p) for p in pixels]


def _similarity(a: list[int], b: list[int]) -> float:
    difference = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / 64
    return max(0.0, 100.0 - 100.0 * difference / 64)


# ---- the service --------------------------------------------------------------------------------


@dataclass
class StoredFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    likeness: list[int]


@dataclass
class FakeRekognition:
    """The six operations over in-memory collections of one account and region."""

    region: str = "ap-northeast-1"
    account: str = "123456789012"
    collections: dict[str, dict[str, StoredFace]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Injected faults: operation → errors to answer before serving it again.
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)  # requests refused by the model
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, operation: str, fault: Fault, times: int = 1) -> None:
        self.faults.setdefault(operation, []).extend([fault] * times)

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Serve one request (already decoded from the wire); raises Fault for an error answer."""
        if operation not in OPERATIONS:
            raise Fault("InvalidAction", f"the fake answers only {OPERATIONS}, not {operation}")
        check_request(operation, params)
        with self._lock:
            self.requests.append((operation, params))
            pending = self.faults.get(operation)
            if pending:
                raise pending.pop(0)
            result = getattr(self, f"_{_snake(operation)}")(params)
        check_answer(operation, result)
        return result

    def _collection(self, collection_id: str) -> dict[str, StoredFace]:
        if collection_id not in self.collections:
            raise Fault(
                "ResourceNotFoundException", f"The collection id: {collection_id} does not exist"
            )
        return self.collections[collection_id]

    def arn(self, collection_id: str) -> str:
        return f"arn:aws:rekognition:{self.region}:{self.account}:collection/{collection_id}"

    def _create_collection(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["CollectionId"]
        if name in self.collections:
            raise Fault(
                "ResourceAlreadyExistsException", f"The collection id: {name} already exists"
            )
        self.collections[name] = {}
        self.tags[name] = dict(params.get("Tags", {}))
        return {
            "StatusCode": 200,
            "CollectionArn": self.arn(name),
            "FaceModelVersion": FACE_MODEL_VERSION,
        }

    def _delete_collection(self, params: dict[str, Any]) -> dict[str, Any]:
        self._collection(params["CollectionId"])
        del self.collections[params["CollectionId"]]
        self.tags.pop(params["CollectionId"], None)
        return {"StatusCode": 200}

    def _index_faces(self, params: dict[str, Any]) -> dict[str, Any]:
        faces = self._collection(params["CollectionId"])
        likeness = _likeness(params["Image"]["Bytes"])
        answer: dict[str, Any] = {
            "FaceRecords": [],
            "FaceModelVersion": FACE_MODEL_VERSION,
            "UnindexedFaces": [],
        }
        if likeness is None:
            return answer  # no face detected: nothing indexed, nothing to report
        stored = StoredFace(
            str(uuid.uuid4()), str(uuid.uuid4()), params.get("ExternalImageId"), likeness
        )
        faces[stored.face_id] = stored
        answer["FaceRecords"].append(
            {
                "Face": self._face(stored),
                "FaceDetail": {"BoundingBox": _WHOLE, "Confidence": 99.9},
            }
        )
        return answer

    def _search_faces_by_image(self, params: dict[str, Any]) -> dict[str, Any]:
        faces = self._collection(params["CollectionId"])
        likeness = _likeness(params["Image"]["Bytes"])
        if likeness is None:
            raise Fault(
                "InvalidParameterException",
                "There are no faces in the image. Should be at least 1.",
            )
        return {
            "SearchedFaceBoundingBox": _WHOLE,
            "SearchedFaceConfidence": 99.9,
            "FaceMatches": self._matches(faces.values(), likeness, params),
            "FaceModelVersion": FACE_MODEL_VERSION,
        }

    def _search_faces(self, params: dict[str, Any]) -> dict[str, Any]:
        faces = self._collection(params["CollectionId"])
        face_id = params["FaceId"]
        if face_id not in faces:
            raise Fault("InvalidParameterException", "faceId was not found in the collection.")
        others = [f for f in faces.values() if f.face_id != face_id]
        return {
            "SearchedFaceId": face_id,
            "FaceMatches": self._matches(others, faces[face_id].likeness, params),
            "FaceModelVersion": FACE_MODEL_VERSION,
        }

    def _delete_faces(self, params: dict[str, Any]) -> dict[str, Any]:
        faces = self._collection(params["CollectionId"])
        deleted = [f for f in params["FaceIds"] if faces.pop(f, None) is not None]
        missing = [f for f in params["FaceIds"] if f not in deleted]
        answer: dict[str, Any] = {
            "UnsuccessfulFaceDeletions": [
                {"FaceId": f, "Reasons": ["FACE_NOT_FOUND"]} for f in missing
            ]
        }
        if deleted:
            answer["DeletedFaces"] = deleted
        return answer

    def _matches(
        self, faces: Any, likeness: list[int], params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        threshold = float(params.get("FaceMatchThreshold", 80.0))
        scored = [(_similarity(likeness, f.likeness), f) for f in faces]
        kept = sorted(
            (pair for pair in scored if pair[0] >= threshold), key=lambda p: (-p[0], p[1].face_id)
        )
        return [
            {"Similarity": round(s, 4), "Face": self._face(f)}
            for s, f in kept[: params.get("MaxFaces", 80)]
        ]

    @staticmethod
    def _face(face: StoredFace) -> dict[str, Any]:
        found: dict[str, Any] = {
            "FaceId": face.face_id,
            "BoundingBox": _WHOLE,
            "ImageId": face.image_id,
            "Confidence": 99.9,
            "IndexFacesModelVersion": FACE_MODEL_VERSION,
        }
        if face.external_image_id is not None:
            found["ExternalImageId"] = face.external_image_id
        return found

    # ---- the wire ------------------------------------------------------------------------------

    def serve_wire(self, target: str, body: bytes) -> tuple[int, bytes]:
        """One JSON-protocol request (``X-Amz-Target`` and body) → HTTP status and JSON body."""
        operation = target.removeprefix(TARGET_PREFIX)
        try:
            if not target.startswith(TARGET_PREFIX) or operation not in OPERATIONS:
                raise Fault("UnknownOperationException", f"the fake does not serve {target!r}")
            shape = _MODEL.operation_model(operation).input_shape
            params = from_wire(json.loads(body or b"{}"), shape)
            result = self.answer(operation, params)
        except Fault as fault:
            error = {"__type": fault.code, "Message": fault.message}
            return fault.status, json.dumps(error).encode()
        except ModelViolation as violation:
            # What Rekognition answers for a request its model refuses; the test sees it too.
            self.violations.append(str(violation))
            error = {"__type": "ValidationException", "Message": str(violation)}
            return 400, json.dumps(error).encode()
        return 200, json.dumps(result).encode()


_WHOLE = {"Width": 1.0, "Height": 1.0, "Left": 0.0, "Top": 0.0}


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def attach(client: Any, fake: FakeRekognition) -> None:
    """Answer ``client``'s requests with ``fake``, after botocore serialized them and before any
    byte leaves the process; the answer goes through botocore's real parser."""

    def send(request: Any, **_: Any) -> AWSResponse:
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        status, payload = fake.serve_wire(request.headers["X-Amz-Target"].decode(), body)
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fake"}
        return AWSResponse(request.url, status, headers, _Raw(payload))

    client.meta.events.register(f"before-send.{SERVICE}", send)


class _Raw:
    """The raw body botocore's AWSResponse reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data
