"""Errors of race day: notifications, runners' privacy, and the bibs the photo pipeline reads
(reported under a catalogued code), each with a stable code."""

from __future__ import annotations

from bakusoku.errors import BakusokuError


class NotificationDeliveryError(BakusokuError):
    """A channel did not take a message to a runner; the outbox retries it with back-off.

    The message never holds a token, an address or a link: it names the channel and what it said.
    """

    code = "race.notification_delivery"


class SubscriptionError(BakusokuError):
    """A subscription's address is not one its channel can deliver to."""

    code = "race.invalid_subscription"


class TooManySubscriptionsError(SubscriptionError):
    """The bib already has as many active subscriptions on the channel as one bib may."""

    code = "race.too_many_subscriptions"


class BibReadError(BakusokuError):
    """The bibs of a race photo could not be read; the photo is ready, its bib unknown."""

    code = "bibs.unread"


class CertificateError(BakusokuError):
    """Base of the errors that keep a finisher certificate from being made."""

    code = "certificate.failed"


class CertificatePhotoNotReadyError(CertificateError):
    """The certificate's finish photo is still being processed (its faces are not known yet);
    the workflow retries it a few times before the certificate fails."""

    code = "certificate.photo_not_ready"


class CertificateInputError(CertificateError):
    """The result or the photo a certificate is made from is gone or unusable (a deleted or
    failed photo, a withdrawn result); the message says which and what to do."""

    code = "certificate.missing_input"
