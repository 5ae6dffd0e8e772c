"""CloudWatch alarm notifications: the JSON document an alarm's SNS action publishes as ``Message``.

AWS quirks this view absorbs:

- ``Region`` is the region's long name ("Asia Pacific (Tokyo)"); its code is in ``AlarmArn``,
  which notifications of alarms made before CloudWatch added it lack.
- ``StateChangeTime`` carries its offset without a colon (``2026-12-07T01:02:03.456+0000``).
- ``AlarmDescription`` is null when the alarm has none; ``Trigger`` is absent for composite alarms.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from bakusoku.events.base import EventView


class CloudWatchAlarm(EventView):
    """One alarm's change of state, as its SNS action tells it."""

    __slots__ = ()
    shape = "CloudWatch alarm notification"

    @property
    def name(self) -> str:
        return self._str("AlarmName")

    @property
    def description(self) -> str | None:
        return self._opt_str("AlarmDescription")

    @property
    def arn(self) -> str | None:
        """The alarm's ARN; notifications of older alarms lack it."""
        return self._opt_str("AlarmArn")

    @property
    def region(self) -> str | None:
        """The region's code (``ap-northeast-1``), read from the alarm's ARN when it has one."""
        arn = self.arn
        if arn is None:
            return None
        parts = arn.split(":")
        if len(parts) < 6 or parts[2] != "cloudwatch" or not parts[3]:
            raise self.malformed(f"is not a CloudWatch alarm ARN: {arn!r}", "AlarmArn")
        return parts[3]

    @property
    def new_state(self) -> str:
        """ALARM, OK or INSUFFICIENT_DATA."""
        return self._str("NewStateValue")

    @property
    def old_state(self) -> str | None:
        return self._opt_str("OldStateValue")

    @property
    def reason(self) -> str:
        return self._str("NewStateReason")

    @property
    def changed_at(self) -> datetime.datetime:
        return self._time("StateChangeTime")

    @property
    def metric(self) -> str | None:
        """``Namespace/MetricName`` of the metric the alarm watches; None for a composite alarm."""
        trigger = self._opt_mapping("Trigger")
        if trigger is None or not trigger.get("MetricName"):
            return None
        return f"{trigger.get('Namespace') or '?'}/{trigger['MetricName']}"

    @staticmethod
    def matches(event: Mapping[str, Any]) -> bool:
        return "AlarmName" in event and "NewStateValue" in event
