"""The alarm specs of one session's technical and advisory alarms, built once per key."""

from alerts.engine.compiled import make_spec
from alerts.engine.events import AlarmCategory
from alerts.engine.lifecycle import AlarmSpec
from alerts.profiles import METRICS, ArtifactGate, Metric, Priority, Profile

_TIMED_SUMMARIES = {
    "device_disconnected": "device disconnected",
    "gateway_offline": "home gateway offline",
    "outbox_overflow": "gateway outbox overflowed, readings lost",
}


class SpecCatalog:
    """Specs keyed like the alarms they describe (``<rule>:<subject>``), cached."""

    __slots__ = ("_profile", "_specs")

    def __init__(self, profile: Profile) -> None:
        self._profile = profile
        self._specs: dict[str, AlarmSpec] = {}

    def _spec(  # noqa: PLR0913  # an AlarmSpec has this many independent parts
        self,
        *,
        key: str,
        rule_id: str,
        category: AlarmCategory,
        metric: Metric | None,
        summary: str,
        priority: Priority,
        latching: bool,
        subject: str | None = None,
    ) -> AlarmSpec:
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = make_spec(
                self._profile,
                key=key,
                rule_id=rule_id,
                category=category,
                priority=priority,
                latching=latching,
                subject=subject,
                metric=metric,
                summary=summary,
            )
        return spec

    def gate(self, gate: ArtifactGate, device_id: str) -> AlarmSpec:
        return self._spec(
            key=f"{gate.gate_id}:{device_id}",
            rule_id=gate.gate_id,
            category=AlarmCategory.TECHNICAL,
            metric=None,
            summary=f"quality flags {', '.join(sorted(gate.flags))}",
            priority=gate.priority,
            latching=gate.latching,
            subject=device_id,
        )

    def stale(self, code: int) -> AlarmSpec:
        metric = METRICS[code]
        stale = self._profile.technical.stale
        return self._spec(
            key=f"stale_{metric}",
            rule_id=f"stale_{metric}",
            category=AlarmCategory.TECHNICAL,
            metric=metric,
            summary=f"no {metric} reading for {stale.after_s[metric]:g} s",
            priority=stale.priority,
            latching=stale.latching,
        )

    def timed(self, name: str, subject: str) -> AlarmSpec:
        """device_disconnected, gateway_offline or outbox_overflow of a device or gateway."""
        technical = self._profile.technical
        alarm = {
            "device_disconnected": technical.device_disconnected,
            "gateway_offline": technical.gateway_offline,
            "outbox_overflow": technical.outbox_overflow,
        }[name]
        return self._spec(
            key=f"{name}:{subject}",
            rule_id=name,
            category=AlarmCategory.TECHNICAL,
            metric=None,
            summary=_TIMED_SUMMARIES[name],
            priority=alarm.priority,
            latching=alarm.latching,
            subject=subject,
        )

    def battery(self, device_id: str) -> AlarmSpec:
        battery = self._profile.technical.battery_low
        return self._spec(
            key=f"battery_low:{device_id}",
            rule_id="battery_low",
            category=AlarmCategory.TECHNICAL,
            metric=None,
            summary=f"battery <= {battery.limit_pct:g} %",
            priority=battery.priority,
            latching=battery.latching,
            subject=device_id,
        )

    def predose_gate(self, metric: Metric, limit: float) -> AlarmSpec:
        return self._spec(
            key=f"predose_gate_{metric}",
            rule_id="predose_gate",
            category=AlarmCategory.ADVISORY,
            metric=metric,
            summary=f"pre-dose baseline {metric} > {limit:g}",
            priority=self._profile.predose_gate.priority,
            latching=False,
        )
