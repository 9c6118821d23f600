"""Shared helpers for the alerts tests (a unique module name: tests/ has no packages)."""

from collections.abc import Iterable, Mapping, Sequence

from alerts.engine import (
    Acknowledge,
    AlarmEngine,
    AlarmEvent,
    CommandAccepted,
    DeviceStatus,
    DoseAdministered,
    GatewayStatus,
    PauseAudio,
    Reading,
    ReadingBatch,
)
from alerts.profiles import Metric, Profile, apply_overrides, bundled_profile

T0 = 1_800_000_000.0


def peer_profile(delay_s: float) -> Profile:
    peer = bundled_profile("peer-compat")
    return apply_overrides(peer, {"rules": {r.rule_id: {"delay_s": delay_s} for r in peer.rules}})


def ketamine() -> Profile:
    return bundled_profile("ketamine-home")


def reading(
    t: float,
    values: Mapping[str, float],
    *,
    session: str = "S1",
    device: str = "dev1",
    seq: int = 0,
    contact: bool | None = None,
    flags: Iterable[str] = (),
    historical: bool = False,
) -> Reading:
    return Reading(
        session_id=session,
        device_id=device,
        seq=seq,
        t=t,
        values={Metric(k): v for k, v in values.items()},
        contact=contact,
        flags=frozenset(flags),
        historical=historical,
    )


def timeline(events: Iterable[AlarmEvent]) -> list[tuple[str, str, float]]:
    """(kind, rule id[@subject], t) per event: the exact alarm timeline of a scenario."""
    out = []
    for event in events:
        rule = event.rule_id if event.subject is None else f"{event.rule_id}@{event.subject}"
        out.append((str(event.kind), rule, event.t))
    return out


def run_scalar(engine: AlarmEngine, readings: Iterable[Reading]) -> list[AlarmEvent]:
    events: list[AlarmEvent] = []
    for r in readings:
        events.extend(engine.on_reading(r))
    return events


def run_batched(engine: AlarmEngine, readings: list[Reading], size: int) -> list[AlarmEvent]:
    events: list[AlarmEvent] = []
    for lo in range(0, len(readings), size):
        events.extend(engine.on_batch(ReadingBatch.from_readings(readings[lo : lo + size])))
    return events


class Tick:
    """A scripted `advance(now)` call."""

    def __init__(self, now: float) -> None:
        self.now = now


def apply_step(engine: AlarmEngine, step: object) -> Sequence[object]:
    """Feed one non-reading input; returns its events (or a command's result)."""
    if isinstance(step, Tick):
        return engine.advance(step.now)
    if isinstance(step, DeviceStatus):
        return engine.on_device_status(step)
    if isinstance(step, GatewayStatus):
        return engine.on_gateway_status(step)
    if isinstance(step, DoseAdministered):
        return engine.on_dose(step)
    if isinstance(step, Acknowledge | PauseAudio):
        return (engine.on_command(step),)
    raise TypeError(step)


def replay(engine: AlarmEngine, script: Iterable[object], batch_size: int | None = None):
    """Run a script; with `batch_size`, consecutive readings go through the batch path.
    Commands must be accepted; their events join the timeline."""
    events: list[AlarmEvent] = []
    pending: list[Reading] = []
    for step in script:
        if isinstance(step, Reading):
            if batch_size is None:
                events.extend(engine.on_reading(step))
            else:
                pending.append(step)
            continue
        events.extend(run_batched(engine, pending, batch_size or 1))
        pending.clear()
        for item in apply_step(engine, step):
            if isinstance(item, AlarmEvent):
                events.append(item)
            else:
                assert isinstance(item, CommandAccepted), item
                events.extend(item.events)
    events.extend(run_batched(engine, pending, batch_size or 1))
    return events
