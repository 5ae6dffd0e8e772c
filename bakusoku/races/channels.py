"""The channels a deployment's settings turn on, for the notification outbox to deliver through."""

from __future__ import annotations

import httpx

from bakusoku.config import Settings
from bakusoku.races.line import LinePush
from bakusoku.races.mail import SmtpMail
from bakusoku.races.notifications import Channel
from bakusoku.races.subscriptions import EMAIL, LINE, WEBPUSH
from bakusoku.races.webpush import WebPush, vapid_key


def channels_from_settings(settings: Settings, client: httpx.Client) -> dict[str, Channel]:
    """LINE when a channel access token is set, e-mail when an SMTP host and sender are, Web Push
    always (its key is generated when none is set)."""
    channels: dict[str, Channel] = {
        WEBPUSH: WebPush(client, vapid_key(settings), settings.vapid_subject)
    }
    if settings.line_channel_access_token:
        channels[LINE] = LinePush(client, settings.line_channel_access_token, settings.line_api_url)
    if settings.smtp_host and settings.smtp_sender:
        channels[EMAIL] = SmtpMail(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    return channels
