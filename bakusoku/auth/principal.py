"""Who is calling: an API key scoped to one service (and maybe some albums), or the admin token."""

from __future__ import annotations

from dataclasses import dataclass

# Each role can do what the roles before it can.
ROLES = ("viewer", "uploader", "admin")
# A parent's session (bakusoku/auth/sessions.py): below every staff role, never one of them.
PARENT_ROLE = "parent"
ADMIN_TOKEN_ID = "admin-token"


@dataclass(frozen=True)
class Principal:
    """The caller of one request.

    ``service`` None is the admin token: every service. ``albums`` None: every album of the
    service. ``role``: viewer reads, uploader also presigns uploads, admin also re-drives,
    downloads originals, deletes and reads the audit log; ``parent`` (a parent's session, always
    one service and one album) only browses watermarked previews through ``/v1/parent``.
    """

    key_id: str
    service: str | None
    albums: tuple[str, ...] | None
    role: str

    @property
    def is_operator(self) -> bool:
        """The admin token: operations across every service."""
        return self.service is None

    @property
    def is_parent(self) -> bool:
        return self.role == PARENT_ROLE

    @property
    def actor(self) -> str:
        if self.is_parent:
            return f"parent:{self.key_id}"
        return ADMIN_TOKEN_ID if self.is_operator else f"key:{self.key_id}"

    def has_role(self, role: str) -> bool:
        """Whether this caller has staff ``role`` or a higher one; a parent has none."""
        if self.role not in ROLES or role not in ROLES:
            return False
        return ROLES.index(self.role) >= ROLES.index(role)

    def allows_service(self, service: str | None) -> bool:
        return self.is_operator or (service is not None and service == self.service)

    def allows(self, service: str | None, album: str | None) -> bool:
        """May this caller see anything of ``album`` in ``service``?"""
        if self.is_operator:
            return True
        if service != self.service or album is None:
            return False
        return self.albums is None or album in self.albums


OPERATOR = Principal(ADMIN_TOKEN_ID, None, None, "admin")
