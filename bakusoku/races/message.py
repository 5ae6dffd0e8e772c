"""What a runner is told: one message per batch, never one per photo."""

from __future__ import annotations

from dataclasses import dataclass

PHOTOS = "photos"
CERTIFICATE = "certificate"
KINDS = (PHOTOS, CERTIFICATE)


@dataclass(frozen=True)
class RunnerMessage:
    """A notification's words and its one link (signed, expiring, this runner's photos only)."""

    kind: str
    race_name: str
    bib: str
    link: str
    photo_count: int = 0

    @property
    def title(self) -> str:
        if self.kind == CERTIFICATE:
            return f"{self.race_name}: your finisher's certificate is ready"
        return f"{self.race_name}: your photos are ready"

    @property
    def text(self) -> str:
        if self.kind == CERTIFICATE:
            what = f"The finisher's certificate of bib {self.bib} is ready."
        else:
            count = "1 photo" if self.photo_count == 1 else f"{self.photo_count} photos"
            what = f"{count} of bib {self.bib} are ready to see." if self.photo_count else ""
            what = what or f"The photos of bib {self.bib} are ready to see."
        return f"{self.title}\n{what}\n{self.link}"
