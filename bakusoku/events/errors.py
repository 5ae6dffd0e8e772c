"""Typed errors for event reading: an unknown shape, or a known shape with a field missing."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class EventError(BakusokuError):
    """Base of every error raised while reading an AWS event."""

    code = "events.invalid"


class UnknownEventError(EventError):
    """The event matches none of the shapes bakusoku reads; the message says what was seen."""

    code = "events.unknown_shape"


class MalformedEventError(EventError):
    """The event has a known shape but lacks a field or has one of the wrong type."""

    code = "events.malformed"


class UnconfirmedSubscriptionError(EventError):
    """SNS asks for the subscription to be confirmed: until it is, no object event arrives."""

    code = "events.unconfirmed_subscription"
