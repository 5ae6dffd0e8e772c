"""E-mail to runners over SMTP: one plain-text message per batch.

The outbox row's retry key becomes the Message-ID, so a retry after a lost answer is the same
message to the receiving server (and to mail clients, which fold duplicates by Message-ID).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from bakusoku.races.errors import NotificationDeliveryError
from bakusoku.races.message import RunnerMessage


class SmtpMail:
    """Sends one message through an SMTP relay (STARTTLS and login when configured)."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout

    def send(self, address: str, message: RunnerMessage, retry_key: str) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = address
        mail["Subject"] = message.title
        mail["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2].strip(">") or "localhost"
        mail["Message-ID"] = f"<{retry_key}@{domain}>"
        mail.set_content(message.text + "\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise NotificationDeliveryError(f"the SMTP server answered {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationDeliveryError(
                f"{type(exc).__name__} sending through the SMTP server"
            ) from None
