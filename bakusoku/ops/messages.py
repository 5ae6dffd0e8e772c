"""Alert messages: Slack Block Kit and the generic webhook's JSON, for one failure or a burst."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bakusoku.domain.catalogue import action_for

MAX_CAUSE = 1500


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def slack_failure(info: dict[str, Any]) -> dict[str, Any]:
    """One failed execution as a Slack message (Block Kit, with a plain-text fallback)."""
    code = info.get("error_code") or "internal"
    state = info.get("failed_state") or "?"
    attempts = info.get("attempts") or 1
    cause = (info.get("cause") or info.get("error") or "")[:MAX_CAUSE]
    fields = [
        ("Service", info["service"]),
        ("Stage", info["stage"]),
        ("Album", info.get("album") or "-"),
        ("Photo", f"`{info.get('photo_id') or '-'}`"),
        ("Failed state", f"{state} (after {attempts} attempt{'s' if attempts != 1 else ''})"),
        ("Error code", f"`{code}`"),
    ]
    return {
        "text": (
            f"[{info['service']}/{info['stage']}] photo {info.get('photo_id') or '-'} failed "
            f"in {state}: {code}"
        ),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"Photo failed: {code}"},
            },
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Cause*\n{cause or '-'}"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"What to do: {action_for(code)} · execution `{info['execution']}`"
                        f" · {_when(info['at'])}",
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open execution"},
                        "url": info["link"],
                    }
                ],
            },
        ],
    }


def slack_summary(window_start: float, items: list[dict[str, Any]], link: str) -> dict[str, Any]:
    """A burst of failures in one minute, grouped into one Slack message."""
    first = items[0]
    codes = Counter(i.get("error_code") or "internal" for i in items)
    states = Counter(i.get("failed_state") or "?" for i in items)
    listed = "\n".join(
        f"• `{i.get('photo_id') or '-'}` ({i.get('album') or '-'}) {i.get('failed_state') or '?'}:"
        f" `{i.get('error_code') or 'internal'}`"
        for i in items[:10]
    )
    more = f"\n…and {len(items) - 10} more" if len(items) > 10 else ""
    by_code = ", ".join(f"`{c}`: {n}" for c, n in codes.most_common())
    by_state = ", ".join(f"{s}: {n}" for s, n in states.most_common())
    return {
        "text": (
            f"[{first['service']}/{first['stage']}] {len(items)} more photos failed in the minute "
            f"from {_when(window_start)}"
        ),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{len(items)} more photos failed"},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Service*\n{first['service']}"},
                    {"type": "mrkdwn", "text": f"*Stage*\n{first['stage']}"},
                    {"type": "mrkdwn", "text": f"*Error codes*\n{by_code}"},
                    {"type": "mrkdwn", "text": f"*Failed states*\n{by_state}"},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": listed + more}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open failed executions"},
                        "url": link,
                    }
                ],
            },
        ],
    }


def webhook_failure(info: dict[str, Any]) -> dict[str, Any]:
    return {"type": "execution.failed", **info, "at": _when(info["at"])}


def webhook_summary(window_start: float, items: list[dict[str, Any]], link: str) -> dict[str, Any]:
    return {
        "type": "execution.failed.summary",
        "service": items[0]["service"],
        "stage": items[0]["stage"],
        "window_start": _when(window_start),
        "count": len(items),
        "by_error_code": dict(Counter(i.get("error_code") or "internal" for i in items)),
        "executions": [
            {k: i.get(k) for k in ("execution", "photo_id", "album", "failed_state", "error_code")}
            for i in items
        ],
        "link": link,
    }
