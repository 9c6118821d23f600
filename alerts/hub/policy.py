"""How long an alarm may stay unacknowledged before the hub escalates it. Pure lookups.

The session's alarm profile decides when it is one of the bundled profiles (its
`[escalation]` table, e.g. ketamine-home: high 60 s, medium 300 s); otherwise the hub's
configured defaults apply (high 120 s). A priority absent from both never escalates.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alerts.errors import ProfileError
from alerts.profiles import BUNDLED_PROFILES, bundled_profile
from vigil.wire import SessionDescriptor

log = logging.getLogger(__name__)

# [Choice]: two minutes for a high-priority alarm when no profile says otherwise; IHE PCD ACM
# leaves the time to the deployment.
DEFAULT_ESCALATION_S: Mapping[str, float] = MappingProxyType({"high": 120.0})


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    defaults: Mapping[str, float] = field(default_factory=lambda: DEFAULT_ESCALATION_S)
    profiles: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def with_bundled_profiles(
        cls, defaults: Mapping[str, float] = DEFAULT_ESCALATION_S
    ) -> EscalationPolicy:
        """Read the bundled profiles' escalation tables once, at start (no I/O later)."""
        profiles: dict[str, Mapping[str, float]] = {}
        for name in BUNDLED_PROFILES:
            try:
                after = bundled_profile(name).escalation.after_s
            except ProfileError:
                log.exception("bundled profile %s is invalid; hub defaults apply to it", name)
                continue
            profiles[name] = MappingProxyType({str(k): float(v) for k, v in after.items()})
        return cls(MappingProxyType(dict(defaults)), MappingProxyType(profiles))

    def after_s(self, descriptor: SessionDescriptor | None, priority: str) -> float | None:
        table = self.defaults
        if descriptor is not None and descriptor.profile in self.profiles:
            table = self.profiles[descriptor.profile]
        return table.get(priority)
