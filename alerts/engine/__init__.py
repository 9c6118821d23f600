"""The alarm engine: readings, device and gateway states, commands and ticks in; alarm events out.

Pure and sans-I/O: no asyncio, no MQTT, no clock. The processor adapts wire messages into
the input dataclasses, calls `AlarmEngine`, and delivers the `AlarmEvent`s it returns.
See docs/alarms.md for the rule semantics and the state machine.
"""

from alerts.engine.batch import BatchBuilder, ReadingBatch
from alerts.engine.benchmark import BenchmarkResult, measure_throughput
from alerts.engine.compiled import FLAG_BITS, flag_bits
from alerts.engine.engine import AlarmEngine
from alerts.engine.events import (
    AlarmCategory,
    AlarmEvent,
    CommandAccepted,
    CommandRejected,
    CommandResult,
    EventKind,
    ReadingRef,
    RejectionReason,
)
from alerts.engine.inputs import (
    Acknowledge,
    Command,
    DeviceStatus,
    DoseAdministered,
    Escalate,
    GatewayStatus,
    PauseAudio,
    Reading,
    RestoredAlarm,
)
from alerts.engine.lifecycle import OpenAlarm
from alerts.engine.news2 import News2Risk, News2Score, news2_score

__all__ = [
    "FLAG_BITS",
    "Acknowledge",
    "AlarmCategory",
    "AlarmEngine",
    "AlarmEvent",
    "BatchBuilder",
    "BenchmarkResult",
    "Command",
    "CommandAccepted",
    "CommandRejected",
    "CommandResult",
    "DeviceStatus",
    "DoseAdministered",
    "Escalate",
    "EventKind",
    "GatewayStatus",
    "News2Risk",
    "News2Score",
    "OpenAlarm",
    "PauseAudio",
    "Reading",
    "ReadingBatch",
    "ReadingRef",
    "RejectionReason",
    "RestoredAlarm",
    "flag_bits",
    "measure_throughput",
    "news2_score",
]
