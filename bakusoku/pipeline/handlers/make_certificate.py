"""MakeCertificate: compose a runner's finisher certificate and store its files.

Input: ``{"certificate": the door's execution input, "executionName"}``.
It loads the bib's finish result (it must still be at ``revision``), the standings and the
photo, composes the race's design at L and 2L (300 dpi JPEGs and a PDF), writes them under the
race's album folder, records the certificate ``ready`` and queues "certificate ready" for the
runner's subscriptions. Running it twice writes the same
keys and the same row: safe to retry.
"""

from __future__ import annotations

from typing import Any

from bakusoku.pipeline.adapters import Adapters, adapters
from bakusoku.races.certificate_door import finish_revision, key_of
from bakusoku.races.certificate_making import (
    DEFAULT_DESIGN,
    certificate_fields,
    decode_for_print,
    files_of,
    make,
)
from bakusoku.races.certificate_records import CertificateKey
from bakusoku.races.certificates import load_design
from bakusoku.races.errors import CertificateInputError, CertificatePhotoNotReadyError
from bakusoku.races.message import CERTIFICATE
from bakusoku.races.notifications import notify_ready
from bakusoku.races.records import FINISH


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = adapters()
    key = key_of(event["certificate"])
    race = env.races.race(key.race)
    if race is None:
        raise CertificateInputError(
            f"album {key.race.album!r} is no longer a race: set it again with PUT /v1/races"
        )
    finish = _finish(env, key)
    photo = _photo(env, key)
    design_name = race.get("certificate_design") or DEFAULT_DESIGN
    design = load_design(design_name)
    fields = certificate_fields(
        race, env.races.entry(key.race, key.bib), finish, env.races.standing(key.race, key.bib)
    )
    picture, faces = decode_for_print(
        env.store.get_object(photo["bucket"], photo["object_key"]),
        photo.get("faces") or [],
        design,
    )
    made = make(picture, faces, fields, design)
    files = files_of(env.settings.rendition_prefix, key)
    bucket = photo["bucket"]
    for size, path in (("L", files.jpeg_l), ("2L", files.jpeg_2l)):
        env.store.put_object(bucket, path, made.pages[size].jpeg, content_type="image/jpeg")
    env.store.put_object(bucket, files.pdf, made.pages["L"].pdf, content_type="application/pdf")
    env.certificates.mark_ready(key, str(event["executionName"]), design.name, files)
    # One message per revision: a better photo at the same revision tells nobody again.
    notify_ready(
        env.db,
        key.race,
        key.bib,
        CERTIFICATE,
        revision=key.revision,
        batch_seconds=env.settings.runner_batch_seconds,
    )
    return {
        "bib": key.bib,
        "revision": key.revision,
        "photoId": key.photo_id,
        "status": "ready",
        "design": design.name,
        "files": {"L": files.jpeg_l, "2L": files.jpeg_2l, "pdf": files.pdf},
    }


def _finish(env: Adapters, key: CertificateKey) -> dict[str, Any]:
    results = env.races.results_of(key.race, key.bib)
    if finish_revision(results) is None:
        raise CertificateInputError(
            f"bib {key.bib} has no finish time any more: post its result to "
            f"/v1/races/{key.race.album}/results"
        )
    return next(r for r in results if r["checkpoint"] == FINISH)


def _photo(env: Adapters, key: CertificateKey) -> dict[str, Any]:
    photo = env.photos.find(key.photo_id)
    if photo is None or photo["status"] in ("failed", "deleted"):
        raise CertificateInputError(
            f"the finish photo {key.photo_id} of bib {key.bib} is "
            f"{'gone' if photo is None else photo['status']}: tag another photo of the bib in "
            "the race's bib review, which starts a new certificate"
        )
    if photo["status"] != "ready":
        raise CertificatePhotoNotReadyError(
            f"the finish photo {key.photo_id} of bib {key.bib} is still {photo['status']}; "
            "it is made once the photo is ready"
        )
    return photo
