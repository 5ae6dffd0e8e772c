"""Imported at start by every Python process that has this directory on PYTHONPATH.

In a worker process of ``bakusoku up`` (``AWS_LAMBDA_FUNCTION_NAME`` set) with
``BAKUSOKU_TEST_LEAKY_WORKERS`` naming a directory, it writes what a careless handler could log:
a presigned URL it signs itself (its signature is saved in that directory so the test can look
for it), the store's secret key, GPS values, and whatever webhook URL its environment holds.
The end-to-end test then checks that none of it reaches the log.
"""

from __future__ import annotations

import os

_FOLDER = os.environ.get("BAKUSOKU_TEST_LEAKY_WORKERS")
_FUNCTION = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")

if _FOLDER and _FUNCTION:
    import re
    import sys
    from pathlib import Path

    from bakusoku.config import load_settings
    from bakusoku.storage.presign import Presigner

    _settings = load_settings()
    _url = Presigner(
        _settings.store_url,
        _settings.region,
        _settings.access_key_id,
        _settings.secret_access_key,
    ).presign_get(_settings.bucket, "uploads/leak/check.jpg", 600)
    _signature = re.search(r"X-Amz-Signature=([0-9a-f]+)", _url)
    if _signature:
        Path(_FOLDER, f"{os.getpid()}.signature").write_text(_signature.group(1))
    print(f"leaky worker {_FUNCTION} presigned {_url}")
    print(f"leaky worker {_FUNCTION} secret_access_key={_settings.secret_access_key}")
    print(f'leaky worker {_FUNCTION} {{"gps": {{"latitude": 35.6581, "longitude": 139.7397}}}}')
    print(f"leaky worker {_FUNCTION} GPSInfo=(35.0, 39.0, 29.16)")
    for _name in ("BAKUSOKU_SLACK_WEBHOOK_URL", "BAKUSOKU_ALERT_WEBHOOK_URL"):
        sys.stderr.write(f"leaky worker {_FUNCTION} {_name}={os.environ.get(_name)}\n")
