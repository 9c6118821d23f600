"""Reported-state technical alarms of one session: device link and battery, gateway link and
outbox. (Stale data and artifact gates are judged with the readings, in `session.py`.)"""

import math

from alerts.engine.conditions import Condition, ConditionState, TimedState, Transition
from alerts.engine.events import AlarmEvent
from alerts.engine.inputs import DeviceStatus, GatewayStatus
from alerts.engine.lifecycle import AlarmBook, AlarmSpec, Trigger
from alerts.engine.specs import SpecCatalog
from alerts.profiles import Comparison, TechnicalSettings


class _DeviceState:
    __slots__ = ("battery", "link")

    def __init__(self) -> None:
        self.link = TimedState()
        self.battery = ConditionState()


class _GatewayState:
    __slots__ = ("offline", "overflow")

    def __init__(self) -> None:
        self.offline = TimedState()
        self.overflow = TimedState()


class TechnicalStates:
    """Every device and gateway the session has heard of, and their alarm conditions."""

    __slots__ = ("_battery", "_book", "_devices", "_gateways", "_settings", "_specs")

    def __init__(self, settings: TechnicalSettings, book: AlarmBook, specs: SpecCatalog) -> None:
        self._settings = settings
        self._book = book
        self._specs = specs
        battery = settings.battery_low
        self._battery = Condition.compile(
            Comparison.AT_OR_BELOW, battery.limit_pct, battery.reset_pct, 0.0
        )
        self._devices: dict[str, _DeviceState] = {}
        self._gateways: dict[str, _GatewayState] = {}

    @property
    def pending(self) -> bool:
        """A reported state is waiting for its delay: a tick may raise it."""
        # Loops, not any(genexpr): asked after every input that reaches a session.
        for device in self._devices.values():
            if device.link.pending:
                return True
        for gateway in self._gateways.values():
            if gateway.offline.pending or gateway.overflow.pending:
                return True
        return False

    def restore(self, name: str, subject: str, *, present: bool, since: float) -> AlarmSpec | None:
        """Make a reported state active again after a restart; None if `name` is not one."""
        if name in {"device_disconnected", "battery_low"}:
            device = self._devices.setdefault(subject, _DeviceState())
            if name == "battery_low":
                if present:
                    device.battery.restore_active(since)
                return self._specs.battery(subject)
            state = device.link
        elif name in {"gateway_offline", "outbox_overflow"}:
            gateway = self._gateways.setdefault(subject, _GatewayState())
            state = gateway.offline if name == "gateway_offline" else gateway.overflow
        else:
            return None
        if present:
            state.restore_active(since)
        return self._specs.timed(name, subject)

    def on_device_status(self, status: DeviceStatus, out: list[AlarmEvent]) -> None:
        device = self._devices.setdefault(status.device_id, _DeviceState())
        disconnected = None if status.connected is None else not status.connected
        self._report(
            disconnected,
            device.link,
            "device_disconnected",
            status.device_id,
            status.t,
            out,
        )
        pct = status.battery_pct
        if pct is not None and math.isfinite(pct):
            transition = device.battery.judge(self._battery, pct, status.t)
            if transition is not Transition.NONE:
                spec = self._specs.battery(status.device_id)
                trigger = Trigger(status.t, pct, self._settings.battery_low.limit_pct)
                if transition is Transition.RAISED:
                    self._book.raised(spec, status.t, trigger, out)
                else:
                    self._book.cleared(spec, trigger, out)

    def on_gateway_status(self, status: GatewayStatus, out: list[AlarmEvent]) -> None:
        gateway = self._gateways.setdefault(status.gateway_id, _GatewayState())
        offline = None if status.online is None else not status.online
        self._report(offline, gateway.offline, "gateway_offline", status.gateway_id, status.t, out)
        self._report(
            status.outbox_overflow,
            gateway.overflow,
            "outbox_overflow",
            status.gateway_id,
            status.t,
            out,
        )

    def _report(  # noqa: PLR0913, PLR0917  # one report of one state
        self,
        present: bool | None,
        state: TimedState,
        name: str,
        subject: str,
        t: float,
        out: list[AlarmEvent],
    ) -> None:
        """The state is reported present, absent, or not reported (None)."""
        if present is None:
            return
        spec = self._specs.timed(name, subject)
        if present:
            state.start(t)
            if state.due(t, self._delay(name)):
                self._book.raised(spec, state.since, Trigger(t), out)
        elif state.stop():
            self._book.cleared(spec, Trigger(t), out)

    def _delay(self, name: str) -> float:
        settings = self._settings
        return {
            "device_disconnected": settings.device_disconnected.delay_s,
            "gateway_offline": settings.gateway_offline.delay_s,
            "outbox_overflow": settings.outbox_overflow.delay_s,
        }[name]

    def advance(self, now: float, out: list[AlarmEvent]) -> None:
        """Raise the reported states whose delay is over, devices then gateways."""
        for device_id, device in self._devices.items():
            self._due(device.link, "device_disconnected", device_id, now, out)
        for gateway_id, gateway in self._gateways.items():
            self._due(gateway.offline, "gateway_offline", gateway_id, now, out)
            self._due(gateway.overflow, "outbox_overflow", gateway_id, now, out)

    def _due(
        self, state: TimedState, name: str, subject: str, now: float, out: list[AlarmEvent]
    ) -> None:
        if state.due(now, self._delay(name)):
            self._book.raised(self._specs.timed(name, subject), state.since, Trigger(now), out)
