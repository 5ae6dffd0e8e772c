"""Web Push to a runner's browser: VAPID (RFC 8292) and the aes128gcm message body (RFC 8291).

The body is encrypted for the browser's subscription keys (``p256dh``, ``auth``) with a fresh
ECDH key and salt per message; the push service sees only ciphertext. Its ``Authorization`` is
``vapid t={JWT}, k={public key}``: an ES256 JWT whose ``aud`` is the push service's origin.
The outbox row's retry key is the message's ``Topic``, so a retried message replaces, at the push
service, one not yet delivered. Built on ``cryptography`` only.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import socket
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bakusoku.config import ConfigError, Settings
from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.message import RunnerMessage

KEY_FILE_NAME = "vapid-key"
RECORD_SIZE = 4096
TTL_SECONDS = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The application server key a page passes to ``pushManager.subscribe``."""
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def encrypt(plaintext: bytes, p256dh: bytes, auth: bytes) -> bytes:
    """The aes128gcm body of one record for the subscription keys (RFC 8291 section 3.4)."""
    receiver = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    sender = ec.generate_private_key(ec.SECP256R1())
    sender_public = sender.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = sender.exchange(ec.ECDH(), receiver)
    ikm = _hkdf(auth, shared, b"WebPush: info\x00" + p256dh + sender_public, 32)
    salt = secrets.token_bytes(16)
    key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    if len(plaintext) + 1 + 16 > RECORD_SIZE:
        raise ValueError("a push message must fit one record")
    record = AESGCM(key).encrypt(nonce, plaintext + b"\x02", None)  # \x02: the last record
    header = salt + struct.pack("!IB", RECORD_SIZE, len(sender_public)) + sender_public
    return header + record


def vapid_authorization(
    key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: float | None = None
) -> str:
    """``vapid t=…, k=…`` for a request to ``endpoint`` (RFC 8292 section 3)."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int((time.time() if now is None else now) + 12 * 3600),
        "sub": subject,
    }
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signed = f"{header}.{body}".encode()
    r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
    signature = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    return f"vapid t={header}.{body}.{signature}, k={public_key_b64(key)}"


class WebPush:
    """Sends one notification to one browser's push subscription."""

    name = "webpush"

    def __init__(
        self,
        client: httpx.Client,
        key: ec.EllipticCurvePrivateKey,
        subject: str,
        *,
        private_networks: bool = False,
    ) -> None:
        """``private_networks``: also post to push services on loopback or private addresses
        (a stand-in of one's own); never for subscriptions that runners make."""
        self._client = client
        self._key = key
        self._subject = subject
        self._private_networks = private_networks

    def send(self, address: str, message: RunnerMessage, retry_key: str) -> None:
        subscription = json.loads(address)
        endpoint = subscription["endpoint"]
        if not self._private_networks:
            _check_public(endpoint)
        payload = json.dumps(
            {"title": message.title, "body": message.text, "url": message.link},
            ensure_ascii=False,
        ).encode()
        body = encrypt(
            payload,
            unb64url(subscription["keys"]["p256dh"]),
            unb64url(subscription["keys"]["auth"]),
        )
        headers = {
            "Authorization": vapid_authorization(self._key, endpoint, self._subject),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL_SECONDS),
            "Urgency": "normal",
            "Topic": retry_key.replace("-", "")[:32],
        }
        try:
            response = self._client.post(endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NotificationDeliveryError(
                f"{type(exc).__name__} reaching the push service"
            ) from None
        if response.status_code >= 300:
            raise NotificationDeliveryError(
                f"the push service answered HTTP {response.status_code}"
            )


def _check_public(endpoint: str) -> None:
    """NotificationDeliveryError unless every address the endpoint's host resolves to is a
    public one: a runner's subscription never makes the server post inside its own networks
    (loopback, private, link-local such as the instance metadata), whatever its name says."""
    parts = urlsplit(endpoint)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise NotificationDeliveryError("the push service's host name does not resolve") from None
    if not found or not all(_public(str(info[4][0])) for info in found):
        raise NotificationDeliveryError(
            "the push service's host resolves inside a private network: not sent"
        )


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return ip.is_global


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def vapid_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The deployment's VAPID key: the setting (PEM or base64url raw), else one generated on
    first use and kept in ``data_dir/vapid-key`` (like the transform key)."""
    text = settings.vapid_private_key.strip()
    if text:
        return _load(text)
    path = Path(settings.data_dir) / KEY_FILE_NAME
    if not path.is_file():
        key = ec.generate_private_key(ec.SECP256R1())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            os.link(tmp, path)  # two processes starting together: the first key wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _load(path.read_text())


def _load(text: str) -> ec.EllipticCurvePrivateKey:
    try:
        if "BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = unb64url(text)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(
            "setting 'vapid_private_key' is not a P-256 private key: give its PEM or the"
            " base64url of its 32 raw bytes (e.g. from `npx web-push generate-vapid-keys`)"
        )
    return key
