"""The environment of the processes ``bakusoku up`` starts: its settings, minus its own secrets.

Alerts are sent by the main process from the alert outbox and only the API checks the admin
token, so the webhook URLs, the webhook signing secret and the admin token never reach a worker
or the store's process: not from the settings, and not from the environment they inherit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bakusoku.config import SECRET_VARIABLES, Settings, settings_to_environment

PARENT_ONLY = SECRET_VARIABLES


def child_settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as ``BAKUSOKU_*`` variables for a child process, without the parent's secrets."""
    return {k: v for k, v in settings_to_environment(settings).items() if k not in PARENT_ONLY}


def inherited_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment (or ``environ``) without the parent's secrets."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k not in PARENT_ONLY}
