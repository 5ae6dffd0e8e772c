"""The face index: face vectors of an album's photos, search within one album, consent and erasure."""
