"""`AlarmEngine`: the sans-I/O alarm core. Inputs in, `AlarmEvent`s out; time is passed in.

The engine holds every open session. Inputs for a session that is not open open it with the
default profile, at the input's time, so an edge never has to drop data; a processor that
knows a session's profile (with its overrides) opens it explicitly first.
Timers (deadman, delays of reported states, acknowledgement and audio-pause expiry,
escalation) fire only in `advance(now)`, so a replay that includes the ticks yields the
same events and ids.
"""

import math
from collections.abc import Iterable, Mapping

import numpy as np

from alerts.engine.batch import SMALL_BATCH_ROWS, BatchBuilder, ReadingBatch, evaluate_batch
from alerts.engine.compiled import CompiledProfile, compile_profile, flag_bits
from alerts.engine.events import AlarmEvent, CommandRejected, CommandResult, RejectionReason
from alerts.engine.inputs import (
    Acknowledge,
    Command,
    DeviceStatus,
    DoseAdministered,
    GatewayStatus,
    PauseAudio,
    Reading,
    RestoredAlarm,
)
from alerts.engine.lifecycle import OpenAlarm
from alerts.engine.news2 import News2Score
from alerts.engine.session import Session
from alerts.engine.slot_table import SlotTable
from alerts.errors import SessionError
from alerts.profiles import METRIC_CODES, Metric, Profile


class AlarmEngine:
    """Alarm evaluation for many sessions. Not thread-safe: one owner feeds it."""

    def __init__(
        self,
        default_profile: Profile,
        *,
        capacity: int = 1024,
        vector_min_rows: int = SMALL_BATCH_ROWS,
    ) -> None:
        """`capacity`: sessions to size the tables for (they grow); `vector_min_rows`: the
        batch size from which `on_batch` vectorises (tests set 0 to force it)."""
        self._vector_min_rows = vector_min_rows
        # Sessions share the compiled form of one Profile object (compiling costs ~1 ms, and a
        # thousand sessions announced at once on one profile would otherwise stall the
        # stream); a compiled profile is freed with the last session using it.
        self._default_compiled = compile_profile(default_profile)
        self._compiled: dict[int, tuple[CompiledProfile, int]] = {}
        self._sessions: dict[str, Session] = {}
        self._by_slot: dict[int, Session] = {}
        self._dirty: set[int] = set()
        # Slot -> when its next timer is due (an open episode's expiry or escalation; -inf
        # while a reported state waits for its delay), kept after every input to the session,
        # so `advance` visits only the sessions due, not every one: a tick over a thousand
        # sessions took ~3 ms, and every reading arriving meanwhile waited for it.
        self._ticking: dict[int, float] = {}
        self.table = SlotTable(capacity)
        self.invalid_rows = 0  # reading values skipped: non-finite time or value
        # numpy imports numpy.ma on the first unique() (~0.1 s): pay it now, not on the first
        # live batch, whose alarms would wait for it.
        np.unique(np.zeros(2))

    # ------------------------------------------------------------------ sessions

    def open_session(
        self, session_id: str, *, started_t: float, profile: Profile | None = None
    ) -> None:
        """Start watching a session. Deadman timers count from `started_t`."""
        if session_id in self._sessions:
            raise SessionError(f"session {session_id} is already open")
        slot = self.table.allocate()
        session = Session(
            session_id,
            slot=slot,
            table=self.table,
            compiled=self._default_compiled if profile is None else self._share(profile),
            started_t=started_t,
        )
        self._sessions[session_id] = session
        self._by_slot[slot] = session

    def close_session(self, session_id: str) -> None:
        """Forget a session and its open alarms (the session has ended)."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            raise SessionError(f"session {session_id} is not open")
        del self._by_slot[session.slot]
        self._dirty.discard(session.slot)
        self._ticking.pop(session.slot, None)
        self.table.release(session.slot)
        self._unshare(session.compiled)

    def _share(self, profile: Profile) -> CompiledProfile:
        compiled, users = self._compiled.get(id(profile), (None, 0))
        if compiled is None or compiled.profile is not profile:
            compiled, users = compile_profile(profile), 0
        self._compiled[id(profile)] = (compiled, users + 1)
        return compiled

    def _unshare(self, compiled: CompiledProfile) -> None:
        key = id(compiled.profile)
        entry = self._compiled.get(key)
        if entry is None or entry[0] is not compiled:
            return  # the default profile's, or a session restored before sharing
        if entry[1] <= 1:
            del self._compiled[key]
        else:
            self._compiled[key] = (compiled, entry[1] - 1)

    def is_open(self, session_id: str) -> bool:
        return session_id in self._sessions

    def _session(self, session_id: str, t: float) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            self.open_session(session_id, started_t=t)
            session = self._sessions[session_id]
        return session

    def slots_of(self, session_ids: Iterable[str]) -> list[int]:
        """The slot of each session, -1 for a session that is not open."""
        sessions = self._sessions
        return [session.slot if (session := sessions.get(sid)) else -1 for sid in session_ids]

    def session_at(self, slot: int) -> Session:
        return self._by_slot[slot]

    def session_for_batch(self, session_id: str, t: float) -> Session:
        """The session, opened at `t` if it is not open (as its first reading would)."""
        return self._session(session_id, t)

    def mark_dirty(self, slots: Iterable[int]) -> None:
        """Sessions whose state the batch path changed through `Session.on_row`."""
        for slot in slots:
            self._touched(self._by_slot[slot])

    def _touched(self, session: Session) -> None:
        """A session's readings or dose changed its state: refresh its batch flags, time it."""
        self._dirty.add(session.slot)
        self._watch(session)

    def _watch(self, session: Session) -> None:
        """Every input that can open an episode, start a delay or set a timer ends here."""
        if session.needs_tick:
            self._ticking[session.slot] = session.next_due()
        else:
            self._ticking.pop(session.slot, None)

    def refresh_dirty(self) -> None:
        """Bring the batch path's per-session flags up to date after scalar changes."""
        for slot in self._dirty:
            self._by_slot[slot].refresh_busy()
        self._dirty.clear()

    # ------------------------------------------------------------------ inputs

    def on_reading(self, reading: Reading) -> tuple[AlarmEvent, ...]:
        """Evaluate one reading (the scalar path). Historical readings never drive alarms."""
        if reading.historical:
            return ()
        out: list[AlarmEvent] = []
        t = reading.t
        bits = flag_bits(reading.contact, reading.flags)
        session = None
        for metric, value in reading.values.items():
            code = METRIC_CODES.get(metric)
            if code is None:
                continue
            if not (math.isfinite(t) and math.isfinite(value)):
                self.invalid_rows += 1
                continue
            if session is None:
                session = self._session(reading.session_id, t)
            session.on_row(reading.device_id, code, value, t, reading.seq, bits, out)
        if session is not None:
            self._touched(session)
        return tuple(out)

    def on_batch(self, batch: ReadingBatch) -> tuple[AlarmEvent, ...]:
        """Evaluate a batch of flattened readings; the same events as the scalar path."""
        return evaluate_batch(self, batch, vector_min_rows=self._vector_min_rows)

    def on_rows(self, builder: BatchBuilder) -> tuple[AlarmEvent, ...]:
        """`on_batch(builder.build())`, without building the columns of a batch that would
        go row by row anyway."""
        if len(builder) < self._vector_min_rows:
            return builder.evaluate_rows(self)
        return self.on_batch(builder.build())

    def on_device_status(self, status: DeviceStatus) -> tuple[AlarmEvent, ...]:
        out: list[AlarmEvent] = []
        session = self._session(status.session_id, status.t)
        session.on_device_status(status, out)
        self._watch(session)
        return tuple(out)

    def on_gateway_status(self, status: GatewayStatus) -> tuple[AlarmEvent, ...]:
        out: list[AlarmEvent] = []
        session = self._session(status.session_id, status.t)
        session.on_gateway_status(status, out)
        self._watch(session)
        return tuple(out)

    def on_dose(self, dose: DoseAdministered) -> tuple[AlarmEvent, ...]:
        """Mark the dose: fixes the baselines and checks the pre-dose gate."""
        out: list[AlarmEvent] = []
        session = self._session(dose.session_id, dose.t)
        session.on_dose(dose.t, out)
        self._touched(session)
        return tuple(out)

    def on_command(self, command: Command) -> CommandResult:
        """Acknowledge, pause audio or escalate; a command on an unknown or resolved alarm, or
        with a duration that is not a positive number, is rejected (never raised)."""
        session = self._sessions.get(command.session_id)
        if session is None:
            return CommandRejected(
                alarm_id=command.alarm_id,
                reason=RejectionReason.UNKNOWN_ALARM,
                message=f"session {command.session_id} is not open",
            )
        book = session.book
        if isinstance(command, Acknowledge):
            result = book.acknowledge(command.alarm_id, command.by, command.t, command.duration_s)
        elif isinstance(command, PauseAudio):
            result = book.pause_audio(command.alarm_id, command.by, command.t, command.duration_s)
        else:
            result = book.escalate(command.alarm_id, command.by, command.t)
        self._watch(session)  # an acknowledgement or a pause sets a timer
        return result

    def advance(self, now: float) -> tuple[AlarmEvent, ...]:
        """Fire every timer due at `now`: deadman, reported-state delays, inactivation
        expiry, escalation. Sessions are visited in slot order, so replays are identical."""
        table = self.table
        used = table.used
        overdue = now - table.last_seen[:used] >= table.stale_after[:used]
        due = overdue & ~table.stale_active[:used]
        stale_slots, stale_codes = np.nonzero(due)
        stale: dict[int, list[int]] = {}
        for slot, code in zip(stale_slots.tolist(), stale_codes.tolist(), strict=True):
            stale.setdefault(slot, []).append(code)
        out: list[AlarmEvent] = []
        ticking = self._ticking
        for slot in sorted(ticking.keys() | stale.keys()):
            codes = stale.get(slot)
            if codes is None and ticking[slot] > now:
                continue
            session = self._by_slot[slot]
            session.advance(now, codes or [], out)
            if codes:
                self._dirty.add(slot)
            if session.needs_tick:
                ticking[slot] = session.next_due()
            else:
                ticking.pop(slot, None)
        return tuple(out)

    def restore(self, alarm: RestoredAlarm) -> bool:
        """Reopen an alarm that was open before a processor restart (its session must be open,
        with the same profile): its episode continues under its id, its condition is active
        again. Call before the session's other inputs. False if it cannot be restored."""
        session = self._sessions.get(alarm.session_id)
        if session is None or not session.restore(alarm):
            return False
        self._touched(session)
        return True

    def restore_dose(self, session_id: str, t: float, baselines: dict[Metric, float]) -> None:
        """The dose time and baselines of a session from before a processor restart (its
        session must be open). Without them, rise rules would stay silent after a restart:
        the pre-dose readings are gone."""
        session = self._open(session_id)
        session.restore_dose(t, baselines)
        self._touched(session)

    def watched(self, session_id: str) -> dict[Metric, float]:
        """Metric -> `after_s` of each metric the deadman watches in an open session."""
        return self._open(session_id).watched()

    def restore_last_seen(
        self, session_id: str, seen: Mapping[Metric, float], *, started_t: float, not_before: float
    ) -> None:
        """When each watched metric of a reopened session was last seen before a processor
        restart (read back from storage; absent: not since `started_t`, the session's start).
        A metric is then called stale at `last seen + after_s`, as without the restart, but
        not before `not_before`: until then readings sent during the outage may still be on
        their way. Without it the deadman counts from the reopening (`open_session`)."""
        session = self._open(session_id)
        session.restore_last_seen(seen, started_t=started_t, not_before=not_before)
        self._touched(session)

    def rate_windows(self, session_id: str) -> dict[Metric, float]:
        """Metric -> the longest window of its rate rules, in an open session."""
        return self._open(session_id).rate_windows()

    def restore_rates(
        self, session_id: str, rows: Iterable[tuple[Metric, float, float, int]]
    ) -> int:
        """Readings (metric, t, value, quality bits) of a reopened session from before a
        processor restart, read back from storage, in time order: they refill its rate
        windows, so a fall that straddles the restart is judged as without it. Call before
        the session's other inputs; returns how many were taken."""
        session = self._open(session_id)
        added = session.restore_rates(rows)
        self._touched(session)
        return added

    def collecting(self, session_id: str) -> tuple[frozenset[Metric], float] | None:
        """(metrics, window_s) of the pre-dose readings an open session's baseline still
        needs, None when it needs none (dose marked, or no baseline in its profile)."""
        return self._open(session_id).collecting()

    def restore_collected(
        self, session_id: str, rows: Iterable[tuple[Metric, float, float, int]]
    ) -> int:
        """Pre-dose readings (metric, t, value, quality bits) of an open session from before a
        processor restart, read back from storage: the baseline fixed at the dose is then
        the one an uninterrupted processor would have fixed. Without them it comes from the
        readings after the restart only, or is missing and rise rules stay silent. Call
        before the session's other inputs; returns how many readings joined."""
        return self._open(session_id).restore_collected(rows)

    def restore_pending(self, session_id: str, pending: dict[str, float]) -> list[str]:
        """Delays that were running in a session before a processor restart (alarm key ->
        the time its condition began, from `pending_changes`): a condition that still holds
        raises when it would have without the restart. Restore open alarms first; returns
        the keys restored (others are not idle conditions of this session)."""
        session = self._open(session_id)
        restored = session.restore_pending(pending)
        self._touched(session)
        return restored

    def pending_changes(self) -> tuple[tuple[str, dict[str, float]], ...]:
        """(session, its pending conditions) for every session whose set of conditions
        waiting out a delay changed since the last call, in slot order. A processor publishes
        them (retained) with the decisions of the same input, so a restart can resume the
        delays (`restore_pending`)."""
        changes = []
        moved = self.table.pending_moved
        for slot in sorted(moved):
            session = self._by_slot[slot]
            pending = session.pending()
            if pending != session.reported_pending:
                session.reported_pending = pending
                changes.append((session.session_id, pending))
        moved.clear()
        return tuple(changes)

    # ------------------------------------------------------------------ queries

    def pending(self, session_id: str) -> dict[str, float]:
        """The session's conditions waiting out their delay: alarm key -> since."""
        return self._open(session_id).pending()

    def news2(self, session_id: str) -> News2Score:
        """NEWS2 from the latest artifact-free values (partial: see `News2Score.missing`)."""
        return self._open(session_id).news2()

    def baseline(self, session_id: str, metric: Metric) -> float | None:
        return self._open(session_id).baseline(metric)

    def baselines(self, session_id: str) -> dict[Metric, float]:
        """Every baseline fixed at the session's dose (empty before it)."""
        return self._open(session_id).baselines

    def open_alarms(self, session_id: str) -> tuple[OpenAlarm, ...]:
        """The session's open alarm episodes, in the order they were raised."""
        return self._open(session_id).book.open_alarms()

    def open_alarm(self, session_id: str, alarm_id: str) -> OpenAlarm | None:
        """One open episode; None if it is resolved or its session is not open."""
        session = self._sessions.get(session_id)
        return None if session is None else session.book.open_alarm(alarm_id)

    def _open(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionError(f"session {session_id} is not open")
        return session
