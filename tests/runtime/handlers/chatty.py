"""A handler that writes to its log every way a handler can, for the runtime's output tests."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

log = logging.getLogger("chatty")


def handler(event: dict[str, Any], context: Any) -> list[str]:
    """Logs ``event["say"]`` through logging, print and stderr; returns its environment's names."""
    say = event["say"]
    log.warning("logged %s", say)  # Lambda's root logger passes WARNING and above
    print(f"printed {say}")
    sys.stderr.write(f"stderr {say}\n")
    try:
        raise ValueError(f"raised {say}")
    except ValueError:
        log.exception("a traceback follows")
    return sorted(os.environ)
