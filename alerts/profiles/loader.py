"""Profile TOML to `Profile`: parsing, validation and per-session overrides.

A session override is a mapping shaped like the profile document (for example
``{"rules": {"spo2_low": {"limit": 88}}}``). It is merged into the profile's document
and the result goes through the same parser, so an override is validated exactly like
a profile file: an unknown key or a value of the wrong type is a `ProfileError`.
"""

import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from alerts.errors import ProfileError
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
from alerts.profiles.vocabulary import Comparison, Direction, Metric, Priority, RuleKind

BUNDLED_PROFILES = ("ketamine-home", "peer-compat")

_Choice = TypeVar("_Choice", Metric, Priority, Comparison, RuleKind, Direction)


class _Table:
    """Reads one TOML table, naming the key path in every error and refusing unknown keys."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ProfileError(f"{path}: must be a table")
        self._data: Mapping[str, object] = data
        self._path = path
        self._seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def names(self) -> list[str]:
        self._seen.update(self._data)
        return list(self._data)

    def raw(self, key: str) -> object:
        if key not in self._data:
            raise ProfileError(f"{self.where(key)}: missing")
        self._seen.add(key)
        return self._data[key]

    def has(self, key: str) -> bool:
        return key in self._data

    def table(self, key: str) -> "_Table":
        return _Table(self.raw(key), self.where(key))

    def number(self, key: str) -> float:
        value = self.raw(key)
        # bool is an int subclass; `true` is not a number of seconds.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProfileError(f"{self.where(key)}: must be a number, not {value!r}")
        if not math.isfinite(value):
            raise ProfileError(f"{self.where(key)}: must be finite")
        return float(value)

    def integer(self, key: str) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProfileError(f"{self.where(key)}: must be an integer, not {value!r}")
        return value

    def string(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise ProfileError(f"{self.where(key)}: must be a string, not {value!r}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise ProfileError(f"{self.where(key)}: must be true or false, not {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ProfileError(f"{self.where(key)}: must be a list of strings")
        return tuple(value)

    def choice(self, key: str, enum: type[_Choice]) -> _Choice:
        return _member(enum, self.string(key), self.where(key))

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ProfileError(f"{self._path or 'profile'}: unknown key(s) {', '.join(unknown)}")


def _member(enum: type[_Choice], text: str, where: str) -> _Choice:
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ProfileError(f"{where}: {text!r} is not one of {allowed}") from None


def _rule(rule_id: str, table: _Table) -> ConditionRule:
    kind = table.choice("kind", RuleKind)
    rate = kind is RuleKind.RATE
    rule = ConditionRule(
        rule_id=rule_id,
        kind=kind,
        metric=table.choice("metric", Metric),
        comparison=table.choice("comparison", Comparison),
        limit=table.number("limit"),
        reset=table.number("reset"),
        delay_s=table.number("delay_s"),
        priority=table.choice("priority", Priority),
        latching=table.boolean("latching"),
        enabled=table.boolean("enabled") if table.has("enabled") else True,
        window_s=table.number("window_s") if rate or table.has("window_s") else None,
        direction=table.choice("direction", Direction) if rate or table.has("direction") else None,
    )
    table.finish()
    return rule


def _gate(gate_id: str, table: _Table) -> ArtifactGate:
    gate = ArtifactGate(
        gate_id=gate_id,
        flags=frozenset(table.strings("flags")),
        metrics=frozenset(
            _member(Metric, m, table.where("metrics")) for m in table.strings("metrics")
        ),
        priority=table.choice("priority", Priority),
        delay_s=table.number("delay_s"),
        latching=table.boolean("latching"),
    )
    table.finish()
    return gate


def _timed(name: str, table: _Table) -> TimedAlarm:
    alarm = TimedAlarm(
        name=name,
        priority=table.choice("priority", Priority),
        delay_s=table.number("delay_s"),
        latching=table.boolean("latching"),
    )
    table.finish()
    return alarm


def _technical(table: _Table) -> TechnicalSettings:
    battery_table = table.table("battery_low")
    battery = BatteryAlarm(
        priority=battery_table.choice("priority", Priority),
        limit_pct=battery_table.number("limit_pct"),
        reset_pct=battery_table.number("reset_pct"),
        latching=battery_table.boolean("latching"),
    )
    battery_table.finish()
    stale_table = table.table("stale")
    after_table = stale_table.table("after_s")
    stale = StaleAlarm(
        priority=stale_table.choice("priority", Priority),
        latching=stale_table.boolean("latching"),
        metrics=frozenset(
            _member(Metric, m, stale_table.where("metrics")) for m in stale_table.strings("metrics")
        ),
        after_s=MappingProxyType(
            {
                _member(Metric, key, after_table.where(key)): after_table.number(key)
                for key in after_table.names()
            }
        ),
    )
    stale_table.finish()
    settings = TechnicalSettings(
        device_disconnected=_timed("device_disconnected", table.table("device_disconnected")),
        gateway_offline=_timed("gateway_offline", table.table("gateway_offline")),
        outbox_overflow=_timed("outbox_overflow", table.table("outbox_overflow")),
        battery_low=battery,
        stale=stale,
    )
    table.finish()
    return settings


def _freeze(value: object) -> object:
    if isinstance(value, Mapping):
        return _freeze_table(value)
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value


def _freeze_table(table: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType({key: _freeze(item) for key, item in table.items()})


def _thaw(value: object) -> object:
    if isinstance(value, Mapping):
        return _thaw_table(value)
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def _thaw_table(table: Mapping[str, object]) -> dict[str, object]:
    return {key: _thaw(item) for key, item in table.items()}


def parse_profile(document: Mapping[str, object]) -> Profile:
    """Validate a profile document (the parsed TOML) into a `Profile`."""
    root = _Table(document, "")
    head = root.table("profile")
    name, description = head.string("name"), head.string("description")
    head.finish()
    rules_table = root.table("rules")
    rules = tuple(_rule(key, rules_table.table(key)) for key in rules_table.names())
    gates_table = root.table("gates")
    gates = tuple(_gate(key, gates_table.table(key)) for key in gates_table.names())
    baseline_table = root.table("baseline")
    baseline = BaselineSettings(
        window_s=baseline_table.number("window_s"),
        min_readings=baseline_table.integer("min_readings"),
    )
    baseline_table.finish()
    gate_table = root.table("predose_gate")
    predose = PredoseGate(
        priority=gate_table.choice("priority", Priority),
        limits=MappingProxyType(
            {
                _member(Metric, key, gate_table.where(key)): gate_table.number(key)
                for key in gate_table.names()
                if key != "priority"
            }
        ),
    )
    inactivation_table = root.table("inactivation")
    inactivation = InactivationSettings(
        acknowledge_s=inactivation_table.number("acknowledge_s"),
        audio_pause_s=inactivation_table.number("audio_pause_s"),
    )
    inactivation_table.finish()
    escalation_table = root.table("escalation")
    escalation = EscalationSettings(
        after_s=MappingProxyType(
            {
                _member(Priority, key, escalation_table.where(key)): escalation_table.number(key)
                for key in escalation_table.names()
            }
        )
    )
    profile = Profile(
        name=name,
        description=description,
        rules=rules,
        baseline=baseline,
        predose_gate=predose,
        gates=gates,
        technical=_technical(root.table("technical")),
        inactivation=inactivation,
        escalation=escalation,
        document=_freeze_table(document),
    )
    root.finish()
    return profile


def parse_profile_text(text: str) -> Profile:
    """Parse and validate profile TOML text."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile is not valid TOML: {exc}") from exc
    return parse_profile(document)


def load_profile(path: Path) -> Profile:
    """Load and validate a profile file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from exc
    return parse_profile_text(text)


def bundled_profile(name: str) -> Profile:
    """One of the profiles shipped with the package (`BUNDLED_PROFILES`)."""
    if name not in BUNDLED_PROFILES:
        raise ProfileError(f"no bundled profile {name!r}; bundled: {', '.join(BUNDLED_PROFILES)}")
    text = resources.files("alerts.profiles").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_profile_text(text)


def _merge(base: dict[str, object], overrides: Mapping[str, object], path: str) -> None:
    for key, value in overrides.items():
        where = f"{path}.{key}" if path else key
        current = base.get(key)
        if isinstance(value, Mapping):
            if current is None:
                current = base[key] = {}
            if not isinstance(current, dict):
                raise ProfileError(f"{where}: is a value, not a table")
            _merge(current, value, where)
        else:
            base[key] = value


def apply_overrides(profile: Profile, overrides: Mapping[str, object]) -> Profile:
    """The profile with one session's overrides merged in, validated as a whole."""
    document = _thaw_table(profile.document)
    _merge(document, overrides, "")
    return parse_profile(document)
