"""Alarm profiles: TOML files of limits, delays and priorities, each default with its source.

`bundled_profile("ketamine-home")` is the clinical default; `bundled_profile("peer-compat")`
is the Node-RED peer's rule set. `apply_overrides` merges one session's overrides and
validates the result.
"""

from alerts.profiles.loader import (
    BUNDLED_PROFILES,
    apply_overrides,
    bundled_profile,
    load_profile,
    parse_profile,
    parse_profile_text,
)
from alerts.profiles.settings import (
    ArtifactGate,
    BaselineSettings,
    BatteryAlarm,
    ConditionRule,
    EscalationSettings,
    InactivationSettings,
    PredoseGate,
    Profile,
    StaleAlarm,
    TechnicalSettings,
    TimedAlarm,
)
from alerts.profiles.vocabulary import (
    METRIC_CODES,
    METRICS,
    QUALITY_FLAGS,
    Comparison,
    Direction,
    Metric,
    Priority,
    RuleKind,
)

__all__ = [
    "BUNDLED_PROFILES",
    "METRICS",
    "METRIC_CODES",
    "QUALITY_FLAGS",
    "ArtifactGate",
    "BaselineSettings",
    "BatteryAlarm",
    "Comparison",
    "ConditionRule",
    "Direction",
    "EscalationSettings",
    "InactivationSettings",
    "Metric",
    "PredoseGate",
    "Priority",
    "Profile",
    "RuleKind",
    "StaleAlarm",
    "TechnicalSettings",
    "TimedAlarm",
    "apply_overrides",
    "bundled_profile",
    "load_profile",
    "parse_profile",
    "parse_profile_text",
]
