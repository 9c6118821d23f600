"""The pipeline without a broker: what one socket read's messages become."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from monitor.admission import Admission
from monitor.clock import ManualClock
from monitor.commit import GroupCommit
from monitor.engine_evaluator import EngineEvaluator
from monitor.evaluation import Decisions, Live
from monitor.metrics import Metrics
from monitor.mqtt_codec import Inbound
from monitor.pipeline import Pipeline
from monitor.settings import Role
from monitor.storage.journal import Journal
from vigil.wire import Reading, ReadingBatch, SessionDescriptor, Topics

TOPICS = Topics("t")


class _FailsOnSecondBatch(EngineEvaluator):
    """The real evaluator, with a bug injected into its second readings batch."""

    def __init__(self) -> None:
        super().__init__("peer-compat")
        self.batches = 0

    def on_live(self, groups: Sequence[Live]) -> Decisions:
        self.batches += 1
        if self.batches == 2:
            raise RuntimeError("injected")
        return super().on_live(groups)


def _readings(session: str, seq: int) -> Inbound:
    batch = ReadingBatch(
        gateway="gw", session=session, device=f"{session}-hr", kind="hr_strap",
        readings=[Reading(seq=seq, t=1000.0 + seq, values={"hr": 70.0})],
    )  # fmt: skip
    return Inbound(TOPICS.readings(session), msgspec.json.encode(batch), seq + 1, False)


def _session(session: str) -> Inbound:
    descriptor = SessionDescriptor(
        session=session, patient="P", devices=[], profile="peer-compat", clinicians=[],
        started=1000.0,
    )  # fmt: skip
    return Inbound(TOPICS.session(session), msgspec.json.encode(descriptor), 9, True)


def _pipeline(
    tmp_path: Path, evaluator: EngineEvaluator, role: Role = Role.ALL
) -> tuple[Pipeline, Metrics]:
    metrics = Metrics()
    pipeline = Pipeline(
        role=role,
        topics=TOPICS,
        shards=frozenset(range(64)),
        evaluator=evaluator,
        admission=Admission(),
        commit=GroupCommit(Journal(tmp_path / "journal"), on_appended=lambda: None),
        metrics=metrics,
        clock=ManualClock(1000.0),
    )
    pipeline.attach(lambda *_, **__: None)
    return pipeline, metrics


def test_a_bug_in_one_evaluation_leaves_only_its_own_messages_unacknowledged(
    tmp_path: Path,
) -> None:
    evaluator = _FailsOnSecondBatch()
    pipeline, metrics = _pipeline(tmp_path, evaluator)
    # readings, readings | a session message (evaluates what came before) | readings
    messages = [_readings("A", 0), _readings("B", 0), _session("C"), _readings("A", 1)]
    handled = pipeline.handle(messages)
    assert evaluator.batches == 2
    assert handled.failed == {3}
    assert handled.done is None  # appended at once: acknowledge now
    assert metrics.handler_errors == 1


class _Counting(EngineEvaluator):
    def __init__(self) -> None:
        super().__init__("peer-compat")
        self.rows = 0

    def on_live(self, groups: Sequence[Live]) -> Decisions:
        self.rows += sum(len(live) for _, live, _ in groups)
        return super().on_live(groups)


def test_the_storage_role_stores_and_never_evaluates(tmp_path: Path) -> None:
    evaluator = _Counting()
    pipeline, metrics = _pipeline(tmp_path, evaluator, Role.STORAGE)
    pipeline.handle([_readings("A", 0), _readings("A", 1)])
    assert (evaluator.rows, metrics.readings_stored) == (0, 2)
    assert pipeline.filters() == [TOPICS.readings_filter(shard) for shard in range(64)]


def test_the_alarm_role_evaluates_and_stores_no_reading(tmp_path: Path) -> None:
    evaluator = _Counting()
    pipeline, metrics = _pipeline(tmp_path, evaluator, Role.ALARMS)
    pipeline.handle([_readings("A", 0), _readings("A", 1)])
    assert (evaluator.rows, metrics.readings_stored) == (2, 0)
    assert TOPICS.session("+") in pipeline.filters()
