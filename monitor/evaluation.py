"""The alarm evaluation hook: what the processor asks of an alarm engine, and a trivial one.

The processor feeds an `Evaluator` the live readings (never duplicates, never historical
ones), device status, session descriptors, clinician commands and clock ticks, and carries its
`Decisions` out: events to `Topics.alarm_events(session)` and InfluxDB, and alarm state to the
retained `Topics.alarm_state(session, alarm_id)` (a `None` state clears it). On start it hands
the evaluator the retained alarm states, so a restart neither loses nor repeats an alarm.

The real engine (`alerts/engine`) is adapted behind this protocol (`engine_evaluator`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from monitor.columns import Columns
from vigil.wire import (
    AlarmEvent,
    AlarmState,
    Command,
    CommandResult,
    DeviceStatus,
    GatewayEvent,
    GatewayStatus,
    Reading,
    ReadingBatch,
    SessionBaseline,
    SessionPending,
)
from vigil.wire import SessionDescriptor as Session


@dataclass(frozen=True, slots=True)
class StateChange:
    session: str
    alarm_id: str
    state: AlarmState | None  # None: the episode is over; its retained state is cleared


@dataclass(frozen=True, slots=True)
class Decisions:
    events: tuple[AlarmEvent, ...] = ()
    states: tuple[StateChange, ...] = ()
    results: tuple[CommandResult, ...] = ()
    # (session, baseline): publish retained; None clears it (the session ended)
    baselines: tuple[tuple[str, SessionBaseline | None], ...] = ()
    # (session, its conditions waiting out a delay): publish retained; None clears it
    pending: tuple[tuple[str, SessionPending | None], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.states or self.results or self.baselines or self.pending)


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """The stored readings of `metrics` (wire names) with start <= t < stop, of one session
    (None: of every session)."""

    session: str | None
    metrics: tuple[str, ...]
    start: float
    stop: float


@dataclass(frozen=True, slots=True)
class StoredValue:
    """One metric value of one stored reading, with what its artifact gates look at."""

    metric: str
    t: float
    value: float
    contact: bool | None
    flags: tuple[str, ...]


NO_DECISIONS = Decisions()
# One message's live readings (never duplicates, never historical): the batch they came in,
# the readings, and the same readings as columns when they are the whole batch and plain.
Live = tuple[ReadingBatch, Sequence[Reading], Columns | None]


class Evaluator(Protocol):
    def restore(
        self,
        states: Sequence[AlarmState],
        baselines: Sequence[SessionBaseline] = (),
        pending: Sequence[SessionPending] = (),
    ) -> None:
        """The retained alarm states, dose baselines and running delays of this instance's
        sessions, before any other input."""

    def last_seen_request(self, now: float) -> tuple[tuple[str, ...], float] | None:
        """After `restore` and the restored sessions: the metrics whose last-seen times the
        deadman needs and since when, to be read back from storage (None: none)."""

    def restore_last_seen(self, seen: Mapping[tuple[str, str], float], not_before: float) -> int:
        """(session, metric) -> time of its latest stored reading, as asked for: the deadman
        calls each metric stale on time, but not before `not_before`; returns the number of
        restored sessions with any."""

    def rates_request(self, now: float) -> HistoryRequest | None:
        """After `restore` and the restored sessions: the stored readings (of every session)
        that their rate windows need, to be read back from storage (None: none)."""

    def restore_rates(self, values: Mapping[str, Sequence[StoredValue]]) -> int:
        """Those readings by session, in time order, before the sessions' other inputs;
        returns how many refilled a rate window."""

    def history_requests(self, now: float) -> Sequence[HistoryRequest]:
        """After `restore` and the restored sessions: the stored readings that the sessions'
        baselines still need (those not yet dosed), to be read back from storage."""

    def restore_history(self, session: str, values: Sequence[StoredValue]) -> int:
        """A session's stored readings, as asked for by `history_requests`, before its other
        inputs; returns how many joined its baseline."""

    def on_session(self, session: Session) -> Decisions:
        """A session started or changed (profile, dose time, overrides) or ended."""

    def reopen(self, session: Session, now: float) -> Decisions:
        """A session found retained at start (after `restore`): as `on_session`, but data
        gaps count from `now` at the earliest, since what arrived before is not known."""

    def on_live(self, groups: Sequence[Live]) -> Decisions:
        """New, live readings of several messages, in arrival order (one socket read)."""

    def on_status(self, status: DeviceStatus) -> Decisions:
        """A device connected, disconnected or reported its battery."""

    def on_gateway_status(self, status: GatewayStatus) -> Decisions:
        """A gateway came online or went offline (its last will)."""

    def on_gateway_event(self, event: GatewayEvent) -> Decisions:
        """A gateway reported a technical event (outbox overflow)."""

    def on_command(self, command: Command) -> Decisions:
        """A clinician acknowledged, paused or escalated an alarm."""

    def advance(self, now: float) -> Decisions:
        """Time passed (escalations, expiries, data gaps): called every tick with clock time."""
