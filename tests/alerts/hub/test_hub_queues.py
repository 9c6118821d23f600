"""Pure cores of delivery: the resume buffer, client queues, vitals throttle, escalation."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from alerts.hub.delivery import DeliveryBook, Escalation, EscalationReason
from alerts.hub.outbox import ClientQueue, Outgoing, text_frame
from alerts.hub.resume import EventLog
from alerts.hub.vitals import Sample, VitalsBoard
from vigil.wire import Reading, ReadingBatch


def test_event_log_resumes_within_the_buffer_and_refuses_beyond_it():
    log = EventLog("e1", capacity=3)
    assert log.since("e1", 0) == []
    events = [log.append(frozenset({"S1"}), f"{n}".encode()) for n in range(1, 6)]
    assert [e.event_id for e in events] == [1, 2, 3, 4, 5]
    assert log.last_id == 5
    assert log.next_id() == 6
    assert [e.event_id for e in log.since("e1", 2)] == [3, 4, 5]
    assert [e.event_id for e in log.since("e1", 4)] == [5]
    assert log.since("e1", 5) == []
    assert log.since("e1", 1) is None  # 2 was dropped: a gap, so a snapshot
    assert log.since("e1", 6) is None  # from the future: another hub
    assert log.since("e0", 4) is None  # another epoch
    with pytest.raises(ValueError):
        EventLog("e", capacity=0)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_frames_are_encoded_once_as_websockets_would(size):
    data = b"x" * size
    expected = Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
    assert text_frame(data) == expected
    assert Outgoing(data, 0.0).frame == expected


def test_client_queue_keeps_events_in_order_and_coalesces_vitals():
    wakes = []
    queue = ClientQueue(max_events=3, notify=lambda: wakes.append(1))
    queue.put_vitals("S1", Outgoing(b"v1", 0.0, session="S1"))
    queue.put_vitals("S1", Outgoing(b"v2", 0.0, session="S1"))
    queue.put_vitals("S2", Outgoing(b"w1", 0.0, session="S2"))
    assert queue.put(Outgoing(b"e1", 0.0))
    assert queue.put(Outgoing(b"e2", 0.0))
    assert queue.depth == 4
    assert queue.vitals_dropped == 1
    assert len(wakes) == 5
    assert [queue.pop().data for _ in range(4)] == [b"e1", b"e2", b"v2", b"w1"]
    assert queue.pop() is None


def test_client_queue_overflow_marks_the_client_and_drops_everything():
    queue = ClientQueue(max_events=2, notify=lambda: None)
    assert queue.put(Outgoing(b"e1", 0.0))
    assert queue.put(Outgoing(b"e2", 0.0))
    assert not queue.put(Outgoing(b"e3", 0.0))
    assert queue.overflowed
    assert queue.depth == 0
    assert not queue.put(Outgoing(b"e4", 0.0))
    queue.put_vitals("S1", Outgoing(b"v", 0.0))
    assert queue.pop() is None


def batch(*readings, session="S1", device="ox-1"):
    return ReadingBatch(
        gateway="g", session=session, device=device, kind="pulse_oximeter", readings=list(readings)
    )


def test_vitals_board_keeps_latest_values_and_downsampled_history():
    board = VitalsBoard(window_s=60, step_s=10)
    board.update(batch(Reading(seq=1, t=100.0, values={"spo2": 97.0, "cuff": 80.0}, contact=True)))
    board.update(batch(Reading(seq=2, t=105.0, values={"spo2": 96.0})))
    board.update(batch(Reading(seq=3, t=99.0, values={"spo2": 50.0})))  # older: not latest
    board.update(batch(Reading(seq=4, t=200.0, values={"spo2": 10.0}, historical=True)))
    assert board.flush() == ["S1"]
    assert board.flush() == []
    assert board.latest("S1") == {"spo2": Sample(96.0, 105.0)}
    assert board.contact("S1") == {"ox-1": True}
    board.update(batch(Reading(seq=5, t=170.0, values={"spo2": 95.0})))
    assert board.history("S1") == {"spo2": [Sample(95.0, 170.0)]}  # 60 s window
    board.forget("S1")
    assert board.sessions() == []
    assert board.latest("S1") == {}


def test_escalation_fires_on_time_repeats_and_stops_on_acknowledgement():
    book = DeliveryBook(max_level=2)
    book.track("A", "S1", "high", 1000.0, 120.0)
    book.track("B", "S1", "high", 1000.0, 120.0)
    book.track("L", "S1", "low", 1000.0, None)
    book.delivered("A", "dr-a", 1000.1)
    assert book.seen("A", "dr-a", 1001.0)
    assert not book.seen("A", "dr-a", 1002.0)
    assert book.acknowledged("B", "dr-a", 1010.0)
    assert not book.acknowledged("B", "dr-b", 1011.0)
    assert book.due(1119.9) == []
    assert book.due(1120.0) == [
        Escalation("A", "S1", "high", 1, EscalationReason.TIMEOUT, 1120.0, 120.0)
    ]
    assert book.due(1200.0) == []
    assert [e.level for e in book.due(1240.0)] == [2]
    assert book.due(5000.0) == []  # max level reached
    entry = book.get("A")
    assert entry.receipts["dr-a"].delivered_t == 1000.1
    assert entry.receipts["dr-a"].seen_t == 1001.0
    book.rearm("B", 2000.0)  # acknowledgement expired: must be acknowledged again
    assert [(e.alarm_id, e.level) for e in book.due(2120.0)] == [("B", 1)]
    assert book.resolve("A") is entry
    assert book.get("A") is None


def test_manual_and_engine_escalations():
    book = DeliveryBook()
    assert book.escalate("nope", 1.0, EscalationReason.MANUAL, "dr-a") is None
    book.track("A", "S1", "medium", 0.0, None)
    manual = book.escalate("A", 5.0, EscalationReason.MANUAL, "dr-a")
    assert (manual.level, manual.by, manual.reason) == (1, "dr-a", EscalationReason.MANUAL)
    assert book.escalate("A", 6.0, EscalationReason.ENGINE) is None  # already escalated
    book.track("C", "S2", "high", 0.0, 60.0)
    assert book.escalate("C", 1.0, EscalationReason.ENGINE).level == 1
    book.forget_session("S2")
    assert book.get("C") is None


def test_priority_change_reschedules_an_unescalated_alarm():
    book = DeliveryBook()
    book.track("A", "S1", "medium", 0.0, None)
    book.track("A", "S1", "high", 10.0, 60.0, acknowledged_by=None)
    assert [e.t for e in book.due(60.0)] == [60.0]
    book.track("B", "S1", "high", 0.0, 60.0, acknowledged_by="dr-a")
    assert book.get("B").acknowledged_by == "dr-a"
    assert [e.alarm_id for e in book.due(1000.0)] == ["A"]  # A goes on to level 2; B never
