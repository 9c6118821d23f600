"""Where an MQTT message becomes stored points, alarm decisions or a dead letter.

`Pipeline.handle` is the MQTT link's handler. It runs inline with network reads and gets the
messages of one read (of a large read, one half: see `monitor.mqtt_consumer`): per message it
decodes (msgspec), admits (dedup, lateness) and stages the points; the live readings of all
of them go to the evaluator as one batch; the decisions are published at once (lowest alarm
latency); it returns the group-commit future, and the link acknowledges the messages when
that future is done, i.e. once their points are in the journal.

Alarm events and states are published before the message's PUBACK on the same connection, so a
broker that has our acknowledgement also has the alarms it caused.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import msgspec

from monitor.admission import Admission
from monitor.clock import Clock
from monitor.columns import columns_of
from monitor.commit import GroupCommit
from monitor.evaluation import Decisions, Evaluator, HistoryRequest, Live, StoredValue
from monitor.metrics import Metrics
from monitor.mqtt_codec import Inbound
from monitor.mqtt_consumer import Handled
from monitor.recovery import Restored
from monitor.settings import Role
from monitor.storage.points import alarm_event_line, batch_lines, column_lines
from monitor.validation import PayloadDecoder, ReadingsDecoder, Rejection, dead_letter
from vigil.wire import (
    Command,
    DeviceStatus,
    GatewayEvent,
    GatewayStatus,
    ReadingBatch,
    SessionDescriptor,
    Topics,
    shard_of,
)

log = logging.getLogger(__name__)

Publish = Callable[..., None]
T = TypeVar("T", bound=msgspec.Struct)


class Pipeline:
    def __init__(  # noqa: PLR0913 - the collaborators, injected
        self,
        *,
        topics: Topics,
        shards: frozenset[int],
        evaluator: Evaluator,
        admission: Admission,
        commit: GroupCommit,
        metrics: Metrics,
        clock: Clock,
        role: Role = Role.ALL,
    ) -> None:
        self._topics = topics
        self._evaluates = role.evaluates
        self._stores_readings = role.stores_readings
        self._shards = shards
        self._evaluator = evaluator
        self._admission = admission
        self._commit = commit
        self._metrics = metrics
        self._clock = clock
        self._readings = ReadingsDecoder()
        self._sessions = PayloadDecoder(SessionDescriptor)
        self._statuses = PayloadDecoder(DeviceStatus)
        self._commands = PayloadDecoder(Command)
        self._gateway_statuses = PayloadDecoder(GatewayStatus)
        self._gateway_events = PayloadDecoder(GatewayEvent)
        self._encode = msgspec.json.Encoder().encode
        self._readings_prefix = f"{topics.base}/readings/"
        self._sessions_prefix = f"{topics.base}/sessions/"
        self._status_prefix = f"{topics.base}/status/device/"
        self._commands_prefix = f"{topics.base}/commands/"
        self._gateway_status_prefix = f"{topics.base}/status/gateway/"
        self._gateway_events_prefix = f"{topics.base}/events/gateway/"
        self.publish: Publish = _not_connected
        self.on_stored: Callable[[ReadingBatch], None] | None = None
        self._logged: set[str] = set()
        self._pending: list[Decisions] = []
        self._live: list[Live] = []

    def filters(self) -> list[str]:
        """Every subscription of the main link: owned reading shards, and unless the instance
        only stores, sessions, status and commands."""
        readings = [self._topics.readings_filter(shard) for shard in sorted(self._shards)]
        if not self._evaluates:
            return readings
        return [
            *readings,
            self._topics.session("+"),
            self._topics.device_status("+"),
            self._topics.commands("+"),
            self._topics.gateway_status("+"),
            self._topics.gateway_events("+"),
        ]

    def foreign_filters(self) -> list[str]:
        """Reading filters this instance must not hold (left from an earlier shard assignment)."""
        others = sorted(set(range(64)) - self._shards)
        return [self._topics.readings_filter(), *(self._topics.readings_filter(s) for s in others)]

    def restore(self, found: Restored) -> None:
        """Before the main link starts: the retained alarm states and sessions of our shards."""
        self._evaluator.restore(found.states, found.baselines, found.pending)
        now = self._clock.now()
        self._pending.extend(self._evaluator.reopen(session, now) for session in found.sessions)

    def last_seen_request(self) -> tuple[tuple[str, ...], float] | None:
        """After `restore`: the metrics whose last-seen times the deadman needs, and since."""
        return self._evaluator.last_seen_request(self._clock.now())

    def restore_last_seen(self, seen: Mapping[tuple[str, str], float], grace_s: float) -> int:
        """Those times, read back (no metric stale within `grace_s` from now); returns the
        number of sessions with any."""
        return self._evaluator.restore_last_seen(seen, self._clock.now() + grace_s)

    def rates_request(self) -> HistoryRequest | None:
        """After `restore`: the stored readings the restored sessions' rate windows need."""
        return self._evaluator.rates_request(self._clock.now())

    def restore_rates(self, values: Mapping[str, Sequence[StoredValue]]) -> int:
        """Those readings, read back; returns how many refilled a rate window."""
        return self._evaluator.restore_rates(values)

    def history_requests(self) -> Sequence[HistoryRequest]:
        """After `restore`: the stored readings the restored sessions' baselines still need."""
        return self._evaluator.history_requests(self._clock.now())

    def restore_history(self, history: Mapping[str, Sequence[StoredValue]]) -> int:
        """Those readings, read back; returns how many joined a baseline."""
        return sum(self._evaluator.restore_history(s, values) for s, values in history.items())

    def attach(self, publish: Publish) -> None:
        """A (new) MQTT link is up: publish through it, first what restoring decided."""
        self.publish = publish
        pending, self._pending = self._pending, []
        for decisions in pending:
            self.carry_out(decisions)

    def owns(self, session: str) -> bool:
        return shard_of(session) in self._shards

    def handle(self, messages: Sequence[Inbound]) -> Handled:
        """The messages of one read (or half of one): one engine batch, one journal group, one
        ack write.

        Readings of consecutive messages are evaluated together; any other message first
        evaluates what came before it, so every input reaches the evaluator in arrival order.
        """
        failed: set[int] = set()
        waiting: list[int] = []  # indices of the messages in `self._live`
        for index, message in enumerate(messages):
            topic, payload = message.topic, message.payload
            try:
                if topic.startswith(self._readings_prefix):
                    if self._on_readings(topic, payload):
                        waiting.append(index)
                    continue
                self._evaluate_live(waiting, failed)
                if payload:  # empty: a cleared retained message
                    self._on_other_topic(topic, payload)
            except Exception:  # noqa: BLE001 - logged with its traceback, message left unacked
                # A bug, not bad input: leave the message unacknowledged (the broker redelivers
                # it on the next connection) and keep the processor running.
                self._internal_error(f"a message on {topic}", [index], failed)
        self._evaluate_live(waiting, failed)
        return Handled(done=self._commit.commit(), failed=frozenset(failed))

    def _internal_error(self, what: str, indices: list[int], failed: set[int]) -> None:
        self._metrics.handler_errors += len(indices)
        failed.update(indices)
        log.error("internal error handling %s", what, exc_info=True)  # noqa: LOG014 - called from except blocks only

    def _evaluate_live(self, waiting: list[int], failed: set[int]) -> None:
        if not self._live:
            return
        live, self._live = self._live, []
        indices = waiting[:]
        waiting.clear()
        try:
            decisions = self._evaluator.on_live(live)
        except Exception:  # noqa: BLE001 - logged with its traceback, messages left unacked
            self._internal_error(f"the live readings of {len(indices)} messages", indices, failed)
        else:
            if decisions:
                self.carry_out(decisions)

    def _on_other_topic(self, topic: str, payload: bytes) -> None:
        evaluator = self._evaluator
        if topic.startswith(self._sessions_prefix):
            self._on_other(topic, payload, self._sessions, evaluator.on_session)
        elif topic.startswith(self._status_prefix):
            self._on_other(topic, payload, self._statuses, evaluator.on_status)
        elif topic.startswith(self._commands_prefix):
            self._on_other(topic, payload, self._commands, evaluator.on_command)
        elif topic.startswith(self._gateway_status_prefix):
            self._on_other(topic, payload, self._gateway_statuses, evaluator.on_gateway_status)
        elif topic.startswith(self._gateway_events_prefix):
            self._on_other(topic, payload, self._gateway_events, evaluator.on_gateway_event)

    def tick(self) -> None:
        self.carry_out(self._evaluator.advance(self._clock.now()))

    def _on_readings(self, topic: str, payload: bytes) -> bool:
        """Decode, admit and stage one message; True when it has live readings to evaluate."""
        metrics = self._metrics
        metrics.messages_in += 1
        batch = self._readings.decode(topic, payload)
        if isinstance(batch, Rejection):
            self._reject(topic, payload, batch)
            return False
        if shard_of(batch.session) not in self._shards:
            metrics.ignored_not_owned += 1
            return False
        metrics.readings_in += len(batch.readings)
        columns = columns_of(batch.readings)
        admitted = self._admission.admit(batch, columns)
        if len(admitted.live) != len(batch.readings):
            columns = None  # some readings were left out: the columns no longer match
        if admitted.duplicates:
            metrics.duplicates += admitted.duplicates
        if admitted.late:
            metrics.late += admitted.late
        if admitted.store and self._stores_readings:
            metrics.readings_stored += len(admitted.store)
            self._commit.stage(
                batch_lines(batch, admitted.store)
                if columns is None
                else column_lines(batch, columns)
            )
            if self.on_stored is not None:
                self._commit.when_stored(functools.partial(self.on_stored, batch))
        if admitted.live and self._evaluates:
            self._live.append((batch, admitted.live, columns))
            return True
        return False

    def _on_other(
        self,
        topic: str,
        payload: bytes,
        decoder: PayloadDecoder[T],
        evaluate: Callable[[T], Decisions],
    ) -> None:
        message = decoder.decode(payload)
        if isinstance(message, Rejection):
            self._reject(topic, payload, message)
            return
        # Gateway messages name no session: every instance hears them, and the evaluator maps
        # the gateway to the sessions of its own that it serves.
        session: str | None = getattr(message, "session", None)
        if session is None or self.owns(session):
            self.carry_out(evaluate(message))

    def carry_out(self, decisions: Decisions) -> None:
        if not decisions:
            return
        publish, topics, encode = self.publish, self._topics, self._encode
        for event in decisions.events:
            publish(topics.alarm_events(event.session), encode(event), qos=1)
            self._metrics.alarm_events[event.kind] += 1
        for change in decisions.states:
            payload = b"" if change.state is None else encode(change.state)
            publish(
                topics.alarm_state(change.session, change.alarm_id), payload, qos=1, retain=True
            )
        for result in decisions.results:
            publish(topics.command_results(result.session), encode(result), qos=1)
        for session, baseline in decisions.baselines:
            payload = b"" if baseline is None else encode(baseline)
            publish(topics.session_baseline(session), payload, qos=1, retain=True)
        for session, delays in decisions.pending:
            payload = b"" if delays is None else encode(delays)
            publish(topics.session_pending(session), payload, qos=1, retain=True)
        if decisions.events:
            self._commit.stage([alarm_event_line(event) for event in decisions.events])

    def _reject(self, topic: str, payload: bytes, rejection: Rejection) -> None:
        self._metrics.rejected[rejection.reason] += 1
        # With split roles both instances see the message; one dead letter is enough, and the
        # alarm role is the one that must always run.
        if self._evaluates:
            self._metrics.dead_letters += 1
            letter = dead_letter(topic, payload, rejection, self._clock.now())
            self.publish(self._topics.dead_letter, self._encode(letter), qos=1)
        level = logging.DEBUG if rejection.reason in self._logged else logging.WARNING
        self._logged.add(rejection.reason)
        done = "dead-lettered" if self._evaluates else "rejected (the alarm role dead-letters)"
        log.log(level, "%s a message on %s: %s", done, topic, rejection.reason)


def _not_connected(*_: object, **__: object) -> None:
    raise RuntimeError("Pipeline.publish is set once the MQTT link is up")
