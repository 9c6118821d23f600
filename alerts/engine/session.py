"""One session's alarm state: rule trackers, artifact gates, deadman, baseline, alarm book.

Reported-state technical alarms live in `technical.py`, alarm specs in `specs.py`."""

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

from alerts.engine.baseline import BaselineCollector, gate_breaches
from alerts.engine.compiled import CompiledGate, CompiledProfile, CompiledRule
from alerts.engine.conditions import ConditionState, Transition
from alerts.engine.events import AlarmEvent, ReadingRef
from alerts.engine.inputs import DeviceStatus, GatewayStatus, RestoredAlarm
from alerts.engine.lifecycle import AlarmBook, AlarmSpec, Trigger
from alerts.engine.news2 import News2Score, news2_score
from alerts.engine.rate import RateWindow
from alerts.engine.slot_table import METRIC_COUNT, SlotTable
from alerts.engine.specs import SpecCatalog
from alerts.engine.technical import TechnicalStates
from alerts.profiles import METRIC_CODES, METRICS, Direction, Metric, RuleKind


def quiet_bound(baseline: float, trip: float, *, upward: bool) -> float:
    """The outermost value v for which the rise ``v - baseline`` (as computed in floating
    point) does not violate `trip`; rounding is monotonic, so every value inside it is quiet
    too. ``baseline + trip`` may round past it, hence the steps back."""
    bound = baseline + trip
    if upward:
        while bound - baseline > trip:
            bound = math.nextafter(bound, -math.inf)
    else:
        while bound - baseline < trip:
            bound = math.nextafter(bound, math.inf)
    return bound


class _RuleRuntime:
    __slots__ = ("condition", "falling", "kind", "limit", "spec", "state", "window")

    def __init__(self, compiled: CompiledRule) -> None:
        rule = compiled.rule
        self.kind = rule.kind
        self.condition = compiled.condition
        self.spec = compiled.spec
        self.limit = rule.limit
        self.state = ConditionState()
        self.falling = rule.direction is Direction.FALLING
        self.window = (
            RateWindow(rule.window_s, falling=self.falling) if rule.window_s is not None else None
        )


class Session:
    """Evaluates one session's inputs; every method appends the events it causes to `out`."""

    def __init__(
        self,
        session_id: str,
        *,
        slot: int,
        table: SlotTable,
        compiled: CompiledProfile,
        started_t: float,
    ) -> None:
        self.session_id = session_id
        self.slot = slot
        self.compiled = compiled
        self.book = AlarmBook(session_id)
        self.dose_t: float | None = None
        self._table = table
        self._rules = tuple(
            tuple(_RuleRuntime(compiled_rule) for compiled_rule in metric_rules)
            for metric_rules in compiled.rules_by_metric
        )
        self._all_rules = tuple(runtime for runtimes in self._rules for runtime in runtimes)
        self._gate_states: dict[tuple[str, str], ConditionState] = {}
        # The pending conditions last handed out by `AlarmEngine.pending_changes`.
        self.reported_pending: dict[str, float] = {}
        self._pending_moved = table.pending_moved
        self._gates_by_id = {gate.gate_id: gate for gate in compiled.profile.gates}
        profile = compiled.profile
        self._specs = SpecCatalog(profile)
        self._technical = TechnicalStates(profile.technical, self.book, self._specs)
        self._collector = BaselineCollector(profile.baseline, compiled.baseline_metrics)
        self._collects = tuple(metric in compiled.baseline_metrics for metric in METRICS)
        self._gated = tuple(bool(gates) for gates in compiled.gates_by_metric)
        # Per metric code: (window, falling, trip) of each rate rule, for the batch path.
        self._rate_windows = tuple(
            tuple(
                (runtime.window, runtime.falling, runtime.condition.trip)
                for runtime in runtimes
                if runtime.window is not None
            )
            for runtimes in self._rules
        )
        self._baselines: dict[Metric, float] = {}
        table.last_seen[slot] = started_t
        table.quiet_low[slot] = compiled.quiet_low
        table.quiet_high[slot] = compiled.quiet_high
        table.stale_after[slot] = compiled.stale_after_s
        table.rate[slot] = [code in compiled.rate_metrics for code in range(METRIC_COUNT)]
        self.refresh_busy()

    # ------------------------------------------------------------------ readings

    def on_row(  # noqa: C901, PLR0913, PLR0917  # one flattened row, inline and positional for speed
        self,
        device_id: str,
        code: int,
        value: float,
        t: float,
        seq: int,
        bits: int,
        out: list[AlarmEvent],
    ) -> None:
        """One metric value of one live reading (finite `t` and `value`)."""
        table, cell = self._table, (self.slot, code)
        last_seen = table.last_seen_cells
        last_seen[cell] = max(last_seen[cell], t)
        if table.stale_active_cells[cell]:
            table.stale_active_cells[cell] = False
            ref = ReadingRef(device_id, seq, t)
            self.book.cleared(self._specs.stale(code), Trigger(t, value, None, ref), out)
        gated = self._judge_gates(device_id, code, bits, t, seq, out) if self._gated[code] else 0
        if not gated:
            table.latest_cells[cell] = value
            if self.dose_t is None and self._collects[code]:
                self._collector.add(METRICS[code], t, value)
        for runtime in self._rules[code]:
            state = runtime.state
            since = state.since  # a new or reset delay assigns a new object
            if gated:
                state.distrust()
                if state.since is not since:
                    self._pending_moved.add(self.slot)
                continue
            if runtime.kind is RuleKind.THRESHOLD:
                signal, threshold = value, runtime.limit
            else:
                derived = self._derived_signal(runtime, code, value, t)
                if derived is None:
                    continue
                signal, threshold = derived
            transition = state.judge(runtime.condition, signal, t)
            if transition is not Transition.NONE:
                self._pending_moved.add(self.slot)
                trigger = Trigger(t, value, threshold, ReadingRef(device_id, seq, t))
                self._transition(runtime.spec, transition, state.since, trigger, out)
            elif state.since is not since:
                self._pending_moved.add(self.slot)

    def _derived_signal(
        self, runtime: _RuleRuntime, code: int, value: float, t: float
    ) -> tuple[float, float] | None:
        """(signal, absolute threshold) of a rise or rate rule; None when it cannot judge."""
        if runtime.window is None:
            baseline = self._baselines.get(METRICS[code])
            if self.dose_t is None or t < self.dose_t or baseline is None:
                return None
            return value - baseline, baseline + runtime.limit
        extreme = runtime.window.push(t, value)
        if runtime.falling:
            return extreme - value, extreme - runtime.limit
        return value - extreme, extreme + runtime.limit

    def _transition(
        self,
        spec: AlarmSpec,
        transition: Transition,
        onset_t: float,
        trigger: Trigger,
        out: list[AlarmEvent],
    ) -> None:
        if transition is Transition.RAISED:
            self.book.raised(spec, onset_t, trigger, out)
        else:
            self.book.cleared(spec, trigger, out)

    def _judge_gates(  # noqa: PLR0913, PLR0917  # called per row, positional for speed
        self,
        device_id: str,
        code: int,
        bits: int,
        t: float,
        seq: int,
        out: list[AlarmEvent],
    ) -> int:
        """Feed the metric's artifact gates; returns the bits that gate this row."""
        gated = bits & self.compiled.gate_mask_by_metric[code]
        # A clean row changes no gate while no gate tracker is in progress (idle ones are
        # dropped): the common case costs one test.
        if gated or self._gate_states:
            for gate in self.compiled.gates_by_metric[code]:
                self._judge_gate(gate, device_id, bits, t, seq, out)
        return gated

    def _judge_gate(  # noqa: PLR0913, PLR0917  # called per row, positional for speed
        self,
        gate: CompiledGate,
        device_id: str,
        bits: int,
        t: float,
        seq: int,
        out: list[AlarmEvent],
    ) -> None:
        key = (device_id, gate.gate.gate_id)
        flagged = bits & gate.mask
        state = self._gate_states.get(key)
        if state is None:
            if not flagged:
                return
            state = self._gate_states[key] = ConditionState()
        since = state.since
        transition = state.judge(gate.condition, 1.0 if flagged else 0.0, t)
        if transition is not Transition.NONE or state.since is not since:
            self._pending_moved.add(self.slot)
        if state.idle:
            del self._gate_states[key]
        if transition is Transition.NONE:
            return
        spec = self._specs.gate(gate.gate, device_id)
        trigger = Trigger(t, None, None, ReadingRef(device_id, seq, t))
        self._transition(spec, transition, state.since, trigger, out)

    # ------------------------------------------------------------------ status and dose

    def on_device_status(self, status: DeviceStatus, out: list[AlarmEvent]) -> None:
        self._technical.on_device_status(status, out)

    def on_gateway_status(self, status: GatewayStatus, out: list[AlarmEvent]) -> None:
        self._technical.on_gateway_status(status, out)

    def on_dose(self, t: float, out: list[AlarmEvent]) -> None:
        """Fix the baselines; the first dose mark counts, later ones are ignored."""
        if self.dose_t is not None:
            return
        self.dose_t = t
        self._baselines = self._collector.fix(t)
        self._add_rise_bounds()
        gate = self.compiled.profile.predose_gate
        for metric, baseline, limit in gate_breaches(self._baselines, gate.limits):
            spec = self._specs.predose_gate(metric, limit)
            out.append(self.book.advisory(spec, Trigger(t, baseline, limit)))
        self.refresh_busy()

    def _add_rise_bounds(self) -> None:
        """With a baseline, a rise rule is a threshold at baseline + limit: narrow the batch
        path's quiet bounds so that a quiet value never violates it."""
        low, high = self._table.quiet_low[self.slot], self._table.quiet_high[self.slot]
        for code, runtimes in enumerate(self._rules):
            baseline = self._baselines.get(METRICS[code])
            if baseline is None:
                continue
            for runtime in runtimes:
                if runtime.kind is RuleKind.RISE:
                    condition = runtime.condition
                    bound = quiet_bound(baseline, condition.trip, upward=condition.upward)
                    if condition.upward:
                        high[code] = min(high[code], bound)
                    else:
                        low[code] = max(low[code], bound)

    def baseline(self, metric: Metric) -> float | None:
        return self._baselines.get(metric)

    @property
    def baselines(self) -> dict[Metric, float]:
        return dict(self._baselines)

    def restore_dose(self, t: float, baselines: dict[Metric, float]) -> None:
        """The dose and baselines fixed before a processor restart: rise rules resume with
        the same baselines; the pre-dose gate, already decided then, is not re-checked."""
        if self.dose_t is not None:
            return
        self.dose_t = t
        self._collector.fix(t)
        self._baselines = {
            m: v for m, v in baselines.items() if m in self.compiled.baseline_metrics
        }
        self._add_rise_bounds()
        self.refresh_busy()

    # ------------------------------------------------------------------ restart

    def watched(self) -> dict[Metric, float]:
        """Metric -> `after_s` of each metric the deadman watches."""
        return {
            METRICS[code]: after_s
            for code, after_s in enumerate(self.compiled.stale_after_s)
            if math.isfinite(after_s)
        }

    def restore_last_seen(
        self, seen: Mapping[Metric, float], *, started_t: float, not_before: float
    ) -> None:
        """When each watched metric was last seen before a restart (from storage; a metric
        not in `seen` was not seen since `started_t`): it is called stale at its true time,
        but not before `not_before`, which leaves the broker time to deliver what arrived
        while the processor was down."""
        row = self._table.last_seen[self.slot]
        for metric, after_s in self.watched().items():
            last = seen.get(metric, started_t)
            if not math.isfinite(last):
                last = started_t
            row[METRIC_CODES[metric]] = max(last, started_t, not_before - after_s)

    def rate_windows(self) -> dict[Metric, float]:
        """Metric -> the longest window of its rate rules."""
        return {
            METRICS[code]: max(window.window_s for window, _, _ in windows)
            for code, windows in enumerate(self._rate_windows)
            if windows
        }

    def restore_rates(self, rows: Iterable[tuple[Metric, float, float, int]]) -> int:
        """Readings (metric, t, value, quality bits) from before a processor restart, in time
        order: those the live path would have pushed (finite, not gated) refill the rate
        windows, unjudged (their decisions were made then). Returns how many did."""
        added = 0
        for code, t, value in self._ungated(rows, [bool(w) for w in self._rate_windows]):
            self.push_rates(code, t, value)
            added += 1
        return added

    def _ungated(
        self, rows: Iterable[tuple[Metric, float, float, int]], wanted: Sequence[bool]
    ) -> Iterator[tuple[int, float, float]]:
        """(code, t, value) of the rows of `wanted` metrics that the live path would take:
        finite, and not gated by the metric's artifact gates."""
        masks = self.compiled.gate_mask_by_metric
        for metric, t, value, bits in rows:
            code = METRIC_CODES.get(metric)
            if (
                code is not None
                and wanted[code]
                and not bits & masks[code]
                and math.isfinite(t)
                and math.isfinite(value)
            ):
                yield code, t, value

    def collecting(self) -> tuple[frozenset[Metric], float] | None:
        """(metrics, window_s) of the pre-dose readings the baseline still needs; None once
        the dose is marked or when the profile takes no baseline."""
        metrics = self._collector.metrics
        if self.dose_t is not None or not metrics:
            return None
        return metrics, self.compiled.profile.baseline.window_s

    def restore_collected(self, rows: Iterable[tuple[Metric, float, float, int]]) -> int:
        """Pre-dose readings (metric, t, value, quality bits) from before a processor restart:
        those the live path would have collected (a baseline metric, finite, not gated by
        its artifact gates) join the baseline. Returns how many did."""
        if self.dose_t is not None:
            return 0
        added = 0
        for code, t, value in self._ungated(rows, self._collects):
            self._collector.add_restored(METRICS[code], t, value)
            added += 1
        return added

    def restore(self, alarm: RestoredAlarm) -> bool:
        """Reopen an episode from before a processor restart and make its condition active
        again (so it neither raises twice nor stays open after recovery). False when the id
        is not one of this session's alarms or the state is inconsistent."""
        rest = alarm.alarm_id.removeprefix(f"{self.session_id}:")
        key, separator, _onset = rest.rpartition(":")
        if rest == alarm.alarm_id or not separator or not math.isfinite(alarm.onset_t):
            return False
        if alarm.acknowledged and not alarm.condition_present:
            return False  # an acknowledged alarm whose condition cleared was resolved
        spec = self._restore_condition(key, present=alarm.condition_present, since=alarm.onset_t)
        if spec is None:
            return False
        self.book.restore(spec, alarm)
        return True

    def _restore_condition(self, key: str, *, present: bool, since: float) -> AlarmSpec | None:
        name, _, subject = key.partition(":")
        if subject:
            gate = self._gates_by_id.get(name)
            if gate is None:
                return self._technical.restore(name, subject, present=present, since=since)
            if present:
                state = self._gate_states[subject, name] = ConditionState()
                state.restore_active(since)
            return self._specs.gate(gate, subject)
        runtime = self._rule(key)
        if runtime is not None:
            if present:
                runtime.state.restore_active(since)
            return runtime.spec
        for code, metric in enumerate(METRICS):
            if name == f"stale_{metric}" and math.isfinite(self.compiled.stale_after_s[code]):
                self._table.stale_active[self.slot, code] = present
                return self._specs.stale(code)
        return None

    def pending(self) -> dict[str, float]:
        """Rule and artifact-gate conditions waiting out their delay: alarm key -> since."""
        pending = {
            runtime.spec.key: state.since
            for runtime in self._all_rules
            if not (state := runtime.state).active and not math.isnan(state.since)
        }
        for (device_id, gate_id), state in self._gate_states.items():
            if not state.active:  # idle gate trackers are dropped: this one is pending
                pending[self._specs.gate(self._gates_by_id[gate_id], device_id).key] = state.since
        return pending

    def restore_pending(self, pending: dict[str, float]) -> list[str]:
        """Resume delays that were running before a processor restart, so the raise comes when
        it would have without the restart. A key that is not an idle condition of this session
        (unknown, or active again) is skipped; returns the keys restored."""
        restored = []
        for key, since in pending.items():
            if not math.isfinite(since):
                continue
            state = self._resumable(key)
            if state is not None:
                state.since = since
                restored.append(key)
        # What is retained, not what was resumed: a key skipped here must be published away,
        # or the next restart would resume it (from a stale time) again.
        self.reported_pending = dict(pending)
        self._pending_moved.add(self.slot)
        return restored

    def _resumable(self, key: str) -> ConditionState | None:
        """The idle condition tracker of `key` (a gate's is created), None if there is none."""
        name, _, subject = key.partition(":")
        if subject:
            if name not in self._gates_by_id or (subject, name) in self._gate_states:
                return None
            state = self._gate_states[subject, name] = ConditionState()
            return state
        runtime = self._rule(key)
        return runtime.state if runtime is not None and runtime.state.idle else None

    def _rule(self, key: str) -> _RuleRuntime | None:
        return next((r for r in self._all_rules if r.spec.key == key), None)

    # ------------------------------------------------------------------ time

    @property
    def needs_tick(self) -> bool:
        return self.book.has_open or self._technical.pending

    def next_due(self) -> float:
        """When `advance` may next fire something (-inf: check every tick, inf: never). A
        reported state waiting for its delay is checked every tick, as before."""
        return -math.inf if self._technical.pending else self.book.next_due()

    def advance(self, now: float, stale_codes: list[int], out: list[AlarmEvent]) -> None:
        table, slot = self._table, self.slot
        for code in stale_codes:
            table.stale_active[slot, code] = True
            onset = float(table.last_seen[slot, code] + table.stale_after[slot, code])
            self.book.raised(self._specs.stale(code), onset, Trigger(now), out)
        self._technical.advance(now, out)
        self.book.advance(now, out)

    # ------------------------------------------------------------------ batch support

    def refresh_busy(self) -> None:
        """Mark the metrics whose next reading may change state, so the batch path sends
        those readings through `on_row` (see `alerts.engine.batch`)."""
        # Baseline collection takes every reading until the dose is marked.
        busy = list(self._collects) if self.dose_t is None else [False] * METRIC_COUNT
        stale_active = self._table.stale_active_cells
        for code, runtimes in enumerate(self._rules):
            if busy[code]:
                continue
            if stale_active[self.slot, code]:
                busy[code] = True
                continue
            for runtime in runtimes:
                state = runtime.state
                if state.active or not math.isnan(state.since):
                    busy[code] = True
                    break
        for _device, gate_id in self._gate_states:  # only gates in progress are kept
            for metric in self._gates_by_id[gate_id].metrics:
                busy[METRIC_CODES[metric]] = True
        self._table.busy[self.slot] = busy

    def rate_calm(self, code: int, low: float, high: float) -> bool:
        """Whether readings of the metric with values within [low, high] are sure not to
        violate its rate rules, whatever order they come in: the worst signal is the extreme
        the window can hold against the farthest value (rounding is monotonic)."""
        for window, falling, trip in self._rate_windows[code]:
            if falling:
                worst = max(window.extreme(), high) - low
            else:
                worst = high - min(window.extreme(), low)
            if worst > trip:
                return False
        return True

    def push_rates(self, code: int, t: float, value: float) -> None:
        """A calm reading (see `rate_calm`) enters the metric's rate windows."""
        for window, _falling, _trip in self._rate_windows[code]:
            window.push(t, value)

    def news2(self) -> News2Score:
        latest = self._table.latest[self.slot]
        pulse = latest[METRIC_CODES[Metric.HR]]
        if math.isnan(pulse):
            pulse = latest[METRIC_CODES[Metric.PR]]
        parameters = {
            "pulse": float(pulse),
            "spo2": float(latest[METRIC_CODES[Metric.SPO2]]),
            "systolic_bp": float(latest[METRIC_CODES[Metric.SBP]]),
        }
        return news2_score({name: v for name, v in parameters.items() if not math.isnan(v)})
