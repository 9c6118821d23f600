"""Typed, frozen alarm settings: what a profile file becomes once it is validated.

Each object checks its own invariants in `__post_init__`, so a settings object that exists
is valid whichever way it was built (loader, override, test).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from alerts.errors import ProfileError
from alerts.profiles.vocabulary import (
    QUALITY_FLAGS,
    Comparison,
    Direction,
    Metric,
    Priority,
    RuleKind,
)


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ProfileError(f"{where}: {message}")


# Rule and gate ids become parts of alarm ids (`<session>:<rule>[:<device>]:<onset ms>`), MQTT
# topic levels and InfluxDB tags: no separators, no spaces, bounded length.
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _finite(value: float) -> bool:
    return math.isfinite(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionRule:
    """A physiological rule: persistence (`delay_s`) and hysteresis (`reset`) on one signal.

    The signal is the reading's value (threshold), its rise over the pre-dose baseline
    (rise), or its change within `window_s` (rate). The alarm condition arises when the
    signal compares with `limit` as `comparison` says on every sample for `delay_s` of
    reading time; it clears at the first sample at or beyond `reset`.
    """

    rule_id: str
    kind: RuleKind
    metric: Metric
    comparison: Comparison
    limit: float
    reset: float
    delay_s: float
    priority: Priority
    latching: bool
    enabled: bool = True
    window_s: float | None = None
    direction: Direction | None = None

    def __post_init__(self) -> None:
        where = f"rules.{self.rule_id}"
        _require(_finite(self.limit), where, "limit must be a finite number")
        _require(_finite(self.reset), where, "reset must be a finite number")
        _require(_finite(self.delay_s) and self.delay_s >= 0, where, "delay_s must be >= 0")
        # A reset equal to an inclusive limit would clear on a violating value.
        inclusive = self.comparison in {Comparison.AT_OR_ABOVE, Comparison.AT_OR_BELOW}
        if self.comparison.upward:
            ok = self.reset < self.limit if inclusive else self.reset <= self.limit
            _require(ok, where, f"reset must lie below limit for '{self.comparison}'")
        else:
            ok = self.reset > self.limit if inclusive else self.reset >= self.limit
            _require(ok, where, f"reset must lie above limit for '{self.comparison}'")
        is_rate = self.kind is RuleKind.RATE
        _require(
            is_rate == (self.window_s is not None) and is_rate == (self.direction is not None),
            where,
            "window_s and direction are required for rate rules and only for them",
        )
        if self.window_s is not None:
            _require(_finite(self.window_s) and self.window_s > 0, where, "window_s must be > 0")
            # The rate signal is a size of change (>= 0), so only upward comparisons mean anything.
            _require(self.comparison.upward, where, "a rate rule compares 'above' its limit")


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineSettings:
    """How the pre-dose baseline is taken: median of readings within `window_s` before the dose."""

    window_s: float
    min_readings: int

    def __post_init__(self) -> None:
        _require(_finite(self.window_s) and self.window_s > 0, "baseline", "window_s must be > 0")
        _require(self.min_readings >= 1, "baseline", "min_readings must be >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class PredoseGate:
    """Baseline limits above which the dose deserves a second look (an advisory, not an alarm)."""

    priority: Priority
    limits: Mapping[Metric, float]

    def __post_init__(self) -> None:
        for metric, limit in self.limits.items():
            _require(_finite(limit), f"predose_gate.{metric}", "limit must be a finite number")


@dataclass(frozen=True, slots=True, kw_only=True)
class ArtifactGate:
    """Quality flags that make a device's readings of `metrics` untrustworthy.

    While a reading carries one of `flags`, physiological rules on those metrics do not
    judge it, and the gate's own technical alarm tracks the flag with `delay_s` persistence.
    """

    gate_id: str
    flags: frozenset[str]
    metrics: frozenset[Metric]
    priority: Priority
    delay_s: float
    latching: bool

    def __post_init__(self) -> None:
        where = f"gates.{self.gate_id}"
        _require(bool(self.flags), where, "flags must name at least one quality flag")
        unknown = sorted(self.flags - set(QUALITY_FLAGS))
        _require(not unknown, where, f"unknown flag(s) {unknown}; known: {list(QUALITY_FLAGS)}")
        _require(bool(self.metrics), where, "metrics must name at least one metric")
        _require(_finite(self.delay_s) and self.delay_s >= 0, where, "delay_s must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedAlarm:
    """A technical alarm raised when a reported state has lasted `delay_s`."""

    name: str
    priority: Priority
    delay_s: float
    latching: bool

    def __post_init__(self) -> None:
        where = f"technical.{self.name}"
        _require(_finite(self.delay_s) and self.delay_s >= 0, where, "delay_s must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryAlarm:
    """Low battery: raised at or below `limit_pct`, cleared at or above `reset_pct`."""

    priority: Priority
    limit_pct: float
    reset_pct: float
    latching: bool

    def __post_init__(self) -> None:
        where = "technical.battery_low"
        _require(0 <= self.limit_pct <= 100, where, "limit_pct must be within 0..100")
        _require(
            self.limit_pct < self.reset_pct <= 100, where, "reset_pct must lie above limit_pct"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleAlarm:
    """Deadman per metric: no live reading of a watched metric for its `after_s`."""

    priority: Priority
    latching: bool
    metrics: frozenset[Metric]
    after_s: Mapping[Metric, float]

    def __post_init__(self) -> None:
        for metric in self.metrics:
            after = self.after_s.get(metric)
            _require(
                after is not None and _finite(after) and after > 0,
                f"technical.stale.after_s.{metric}",
                "a watched metric needs a time > 0",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class TechnicalSettings:
    device_disconnected: TimedAlarm
    gateway_offline: TimedAlarm
    outbox_overflow: TimedAlarm
    battery_low: BatteryAlarm
    stale: StaleAlarm


@dataclass(frozen=True, slots=True, kw_only=True)
class InactivationSettings:
    """How long an acknowledgement and an audio pause last before the alarm signals again."""

    acknowledge_s: float
    audio_pause_s: float

    def __post_init__(self) -> None:
        for name, value in (
            ("acknowledge_s", self.acknowledge_s),
            ("audio_pause_s", self.audio_pause_s),
        ):
            _require(_finite(value) and value > 0, f"inactivation.{name}", "must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationSettings:
    """Seconds an alarm of a priority may stay unacknowledged before it escalates."""

    after_s: Mapping[Priority, float]

    def __post_init__(self) -> None:
        for priority, value in self.after_s.items():
            _require(_finite(value) and value > 0, f"escalation.{priority}", "must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A complete, validated alarm configuration for one session."""

    name: str
    description: str
    rules: tuple[ConditionRule, ...]
    baseline: BaselineSettings
    predose_gate: PredoseGate
    gates: tuple[ArtifactGate, ...]
    technical: TechnicalSettings
    inactivation: InactivationSettings
    escalation: EscalationSettings
    # The validated source document (deeply read-only): overrides merge into it and re-parse.
    document: Mapping[str, object]

    def __post_init__(self) -> None:
        ids = [rule.rule_id for rule in self.rules]
        _require(len(ids) == len(set(ids)), "rules", "rule ids must be unique")
        gate_ids = [gate.gate_id for gate in self.gates]
        for kind, name in [*(("rules", i) for i in ids), *(("gates", g) for g in gate_ids)]:
            _require(
                RULE_ID.fullmatch(name) is not None,
                f"{kind}.{name}",
                "an id is 1-64 letters, digits, '_' or '-', starting with a letter or digit",
            )
        _require(len(gate_ids) == len(set(gate_ids)), "gates", "gate ids must be unique")
