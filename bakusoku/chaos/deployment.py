"""The doors of a running deployment that a chaos run uses: presigned uploads, photos, faults.

Only what a client or an operator reaches over HTTP: ``POST /v1/uploads`` and the presigned PUT,
``GET /v1/photos/{id}``, and the admin token's ``/v1/faults``.
"""

from __future__ import annotations

from typing import Any

import httpx

from bakusoku.errors import BakusokuError

TIMEOUT_SECONDS = 30


class DeploymentError(BakusokuError):
    """The deployment refused or could not answer what the run needs (faults, mainly)."""

    code = "chaos.deployment"


class Deployment:
    """One running deployment at ``api``, called with the admin token ``token``."""

    def __init__(self, api: str, token: str, *, service: str = "chaos") -> None:
        self.api = api.rstrip("/")
        self.service = service
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = httpx.Client(timeout=TIMEOUT_SECONDS)

    def close(self) -> None:
        self._client.close()

    # -- the client's doors ----------------------------------------------------------------------

    def presign(self, filename: str, size: int, album: str) -> httpx.Response:
        body = {
            "filename": filename,
            "content_type": "image/jpeg",
            "size": size,
            "album": album,
            "service": self.service,
        }
        return self._client.post(f"{self.api}/v1/uploads", json=body, headers=self._headers)

    def put(self, url: str, headers: dict[str, str], data: bytes) -> httpx.Response:
        sent = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        return self._client.put(url, content=data, headers=sent)

    def photo(self, photo_id: str) -> httpx.Response:
        return self._client.get(f"{self.api}/v1/photos/{photo_id}", headers=self._headers)

    def execution(self, photo_id: str) -> httpx.Response:
        return self._client.get(f"{self.api}/v1/photos/{photo_id}/execution", headers=self._headers)

    # -- the operator's doors --------------------------------------------------------------------

    def inject(self, fault: dict[str, Any]) -> dict[str, Any]:
        """Put ``fault`` in force; the fault as the deployment recorded it (with its id)."""
        answer = self._call("POST", "/v1/faults", json=fault)
        if answer.status_code != 201:
            raise DeploymentError(f"the deployment refused the fault {fault}: {_reason(answer)}")
        recorded: dict[str, Any] = answer.json()["fault"]
        return recorded

    def end_fault(self, fault_id: str) -> bool:
        """End one fault; False when it had already ended."""
        answer = self._call("DELETE", f"/v1/faults/{fault_id}")
        if answer.status_code not in (204, 404) or _code(answer) == "faults.unavailable":
            raise DeploymentError(f"could not end fault {fault_id}: {_reason(answer)}")
        return answer.status_code == 204

    def end_all_faults(self) -> int:
        answer = self._call("DELETE", "/v1/faults")
        if answer.status_code != 200:
            raise DeploymentError(f"could not end the faults: {_reason(answer)}")
        return int(answer.json()["ended"])

    def faults(self) -> list[dict[str, Any]]:
        answer = self._call("GET", "/v1/faults")
        if answer.status_code != 200:
            raise DeploymentError(f"could not list the faults: {_reason(answer)}")
        found: list[dict[str, Any]] = answer.json()["faults"]
        return found

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(
                method, f"{self.api}{path}", headers=self._headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise DeploymentError(
                f"could not reach the deployment at {self.api} ({type(exc).__name__}: {exc}): "
                "is `bakusoku up` running there? Give its URL with --api"
            ) from exc


def _code(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _reason(answer: httpx.Response) -> str:
    try:
        error = answer.json()["error"]
        return f"{answer.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{answer.status_code} {answer.text[:200]}"
