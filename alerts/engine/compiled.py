"""A profile compiled for evaluation: rules grouped by metric code, alarm specs built once.

Sessions that share a `Profile` share one `CompiledProfile`.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from alerts.engine.conditions import Condition
from alerts.engine.events import AlarmCategory
from alerts.engine.lifecycle import AlarmSpec
from alerts.engine.messages import rule_summary
from alerts.profiles import (
    METRICS,
    QUALITY_FLAGS,
    ArtifactGate,
    Comparison,
    ConditionRule,
    Metric,
    Priority,
    Profile,
    RuleKind,
)

FLAG_BITS: dict[str, int] = {name: 1 << bit for bit, name in enumerate(QUALITY_FLAGS)}
NO_CONTACT_BIT = FLAG_BITS["no_contact"]


def flag_bits(contact: bool | None, flags: Iterable[str]) -> int:
    """The quality bitmask of a reading; unknown flag names are ignored."""
    bits = NO_CONTACT_BIT if contact is False else 0
    for name in flags:
        bits |= FLAG_BITS.get(name, 0)
    return bits


def make_spec(  # noqa: PLR0913  # an AlarmSpec has this many independent parts
    profile: Profile,
    *,
    key: str,
    rule_id: str,
    category: AlarmCategory,
    priority: Priority,
    latching: bool,
    subject: str | None,
    metric: Metric | None,
    summary: str,
) -> AlarmSpec:
    """The spec of one alarm, with the profile's inactivation and escalation times."""
    inactivation = profile.inactivation
    return AlarmSpec(
        key=key,
        rule_id=rule_id,
        category=category,
        priority=priority,
        latching=latching,
        subject=subject,
        metric=metric,
        summary=summary,
        escalate_after_s=profile.escalation.after_s.get(priority),
        acknowledge_s=inactivation.acknowledge_s,
        audio_pause_s=inactivation.audio_pause_s,
    )


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: ConditionRule
    condition: Condition
    spec: AlarmSpec


@dataclass(frozen=True, slots=True)
class CompiledGate:
    gate: ArtifactGate
    mask: int
    condition: Condition  # the flag as a 0/1 signal: violating above 0.5, reset at 0


@dataclass(frozen=True, slots=True)
class CompiledProfile:
    profile: Profile
    rules_by_metric: tuple[tuple[CompiledRule, ...], ...]
    gates_by_metric: tuple[tuple[CompiledGate, ...], ...]
    gate_mask_by_metric: tuple[int, ...]
    # Codes of the metrics with rate rules (their windows take every reading).
    rate_metrics: frozenset[int]
    baseline_metrics: frozenset[Metric]
    # Per metric code: the bounds inside which no threshold rule is violated (a session adds
    # its rise rules' bounds once its baseline is fixed).
    quiet_low: tuple[float, ...]
    quiet_high: tuple[float, ...]
    stale_after_s: tuple[float, ...]


def compile_profile(profile: Profile) -> CompiledProfile:
    rules: list[list[CompiledRule]] = [[] for _ in METRICS]
    for rule in profile.rules:
        if not rule.enabled:
            continue
        condition = Condition.compile(rule.comparison, rule.limit, rule.reset, rule.delay_s)
        spec = make_spec(
            profile,
            key=rule.rule_id,
            rule_id=rule.rule_id,
            category=AlarmCategory.PHYSIOLOGICAL,
            priority=rule.priority,
            latching=rule.latching,
            subject=None,
            metric=rule.metric,
            summary=rule_summary(rule),
        )
        rules[METRICS.index(rule.metric)].append(CompiledRule(rule, condition, spec))
    gates: list[list[CompiledGate]] = [[] for _ in METRICS]
    for gate in profile.gates:
        mask = 0
        for name in gate.flags:
            mask |= FLAG_BITS[name]
        flag_condition = Condition.compile(Comparison.ABOVE, 0.5, 0.0, gate.delay_s)
        for metric in gate.metrics:
            gates[METRICS.index(metric)].append(CompiledGate(gate, mask, flag_condition))
    quiet_low, quiet_high, rate_codes = _quiet_bounds(rules)
    rise_metrics = {
        rule.metric for rule in profile.rules if rule.enabled and rule.kind is RuleKind.RISE
    }
    stale = profile.technical.stale
    return CompiledProfile(
        profile=profile,
        rules_by_metric=tuple(tuple(metric_rules) for metric_rules in rules),
        gates_by_metric=tuple(tuple(metric_gates) for metric_gates in gates),
        gate_mask_by_metric=tuple(
            _union(compiled.mask for compiled in metric_gates) for metric_gates in gates
        ),
        rate_metrics=frozenset(rate_codes),
        baseline_metrics=frozenset(rise_metrics | set(profile.predose_gate.limits)),
        quiet_low=tuple(quiet_low),
        quiet_high=tuple(quiet_high),
        stale_after_s=tuple(
            stale.after_s[metric] if metric in stale.metrics else math.inf for metric in METRICS
        ),
    )


def _quiet_bounds(
    rules: list[list[CompiledRule]],
) -> tuple[list[float], list[float], set[int]]:
    """Per metric code: the threshold rules' quiet bounds, and the codes with rate rules."""
    quiet_low: list[float] = []
    quiet_high: list[float] = []
    rate_codes: set[int] = set()
    for code, metric_rules in enumerate(rules):
        low, high = -math.inf, math.inf
        for compiled in metric_rules:
            if compiled.rule.kind is RuleKind.RATE:
                rate_codes.add(code)
            elif compiled.rule.kind is RuleKind.RISE:
                continue
            elif compiled.condition.upward:
                high = min(high, compiled.condition.trip)
            else:
                low = max(low, compiled.condition.trip)
        quiet_low.append(low)
        quiet_high.append(high)
    return quiet_low, quiet_high, rate_codes


def _union(masks: Iterable[int]) -> int:
    result = 0
    for mask in masks:
        result |= mask
    return result
