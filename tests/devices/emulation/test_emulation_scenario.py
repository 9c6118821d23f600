"""The pure session model: vitals, device flags, links, battery, cuff cycles, beats."""

from __future__ import annotations

import dataclasses
import statistics
from datetime import UTC, datetime

import pytest

from devices.emulation.errors import ScenarioError
from devices.emulation.scenario import (
    ALL_DEVICES,
    HOUR,
    MINUTE,
    BeatTrain,
    CuffCycle,
    Desaturation,
    DeviceKind,
    DeviceSpec,
    DeviceState,
    DoseResponse,
    LowBattery,
    Motion,
    Noise,
    Presence,
    Scenario,
    SensorOff,
    SessionModel,
    Tachycardia,
    Vitals,
    WalkAway,
)

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
BASELINE = Vitals(heart_rate_bpm=70, systolic_mmhg=120, diastolic_mmhg=80, spo2_percent=97)
QUIET = Noise(heart_rate_bpm=0, systolic_mmhg=0, diastolic_mmhg=0, spo2_percent=0)
STRAP = DeviceSpec(kind=DeviceKind.HEART_RATE, name="HRM", address="C0:00:00:00:00:01")
CUFF = DeviceSpec(
    kind=DeviceKind.BLOOD_PRESSURE,
    name="BPM",
    address="C0:00:00:00:00:02",
    first_cycle_s=60,
    cycle_interval_s=300,
    inflation_s=30,
)
OXIMETER = DeviceSpec(
    kind=DeviceKind.PULSE_OXIMETER,
    name="PLX",
    address="C0:00:00:00:00:03",
    spot_check_interval_s=600,
)


def scenario(**changes: object) -> Scenario:
    base = Scenario(
        patient="p",
        seed=1,
        duration_s=2 * HOUR,
        start=START,
        baseline=BASELINE,
        noise=QUIET,
        devices=(STRAP, CUFF, OXIMETER),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# Scenario checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_s": 0}, "duration must be positive"),
        ({"start": datetime(2025, 1, 6, 9, 0)}, "time zone"),  # noqa: DTZ001 (naive on purpose)
        ({"devices": (STRAP, STRAP)}, "one device of each kind"),
        (
            {"events": (SensorOff(start_s=0, duration_s=1, device=DeviceKind.BLOOD_PRESSURE),)},
            "sensor_off applies",
        ),
    ],
)
def test_scenario_rejects_what_cannot_be_emulated(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario(**changes)


def test_scenario_finds_devices_and_maps_scenario_time_to_device_clocks() -> None:
    session = scenario(devices=(STRAP,))

    assert session.device(DeviceKind.HEART_RATE) == STRAP
    assert session.device(DeviceKind.BLOOD_PRESSURE) is None
    assert session.wall_time(90.0) == datetime(2025, 1, 6, 9, 1, 30, tzinfo=UTC)


# Dose response ------------------------------------------------------------------------------------


def test_dose_response_peaks_40_minutes_after_the_dose_and_ends_after_4_hours() -> None:
    dose = DoseResponse(at_s=15 * MINUTE)

    assert dose.envelope(0) == 0.0
    assert dose.envelope(15 * MINUTE) == 0.0
    assert dose.envelope(35 * MINUTE) == pytest.approx(0.5)
    assert dose.envelope(55 * MINUTE) == pytest.approx(1.0)
    assert dose.envelope(15 * MINUTE + (40 * MINUTE + 4 * HOUR) / 2) == pytest.approx(0.5)
    assert dose.envelope(15 * MINUTE + 4 * HOUR) == 0.0


def test_dose_response_needs_the_peak_inside_its_duration() -> None:
    with pytest.raises(ScenarioError, match="peak_after"):
        DoseResponse(at_s=0, peak_after_s=5 * HOUR)


def test_blood_pressure_and_heart_rate_rise_with_the_dose() -> None:
    dose = DoseResponse(
        at_s=10 * MINUTE, systolic_rise_mmhg=30, diastolic_rise_mmhg=15, heart_rate_rise_bpm=8
    )
    model = SessionModel(scenario(dose=dose))

    assert model.vitals(5 * MINUTE) == BASELINE
    assert model.vitals(50 * MINUTE) == Vitals(
        heart_rate_bpm=78, systolic_mmhg=150, diastolic_mmhg=95, spo2_percent=97
    )
    assert model.vitals(50 * MINUTE).mean_arterial_mmhg == pytest.approx(113.33, abs=0.01)


# Events on the vitals ----------------------------------------------------------------------------


def test_desaturation_ramps_down_holds_and_recovers() -> None:
    event = Desaturation(
        start_s=600, duration_s=300, spo2_drop_percent=10, ramp_s=60, heart_rate_rise_bpm=12
    )
    model = SessionModel(scenario(events=(event,)))

    spo2 = [model.vitals(t).spo2_percent for t in (599, 630, 660, 800, 870, 900)]
    assert spo2 == pytest.approx([97, 92, 87, 87, 92, 97])
    assert model.vitals(700).heart_rate_bpm == 82


def test_events_without_ramps_switch_at_once_and_ramps_never_exceed_half_the_event() -> None:
    sudden = Tachycardia(start_s=100, duration_s=50, heart_rate_bpm=130, ramp_s=0)
    short = Desaturation(start_s=300, duration_s=20, spo2_drop_percent=10, ramp_s=60)
    model = SessionModel(scenario(events=(sudden, short)))

    assert model.vitals(100).heart_rate_bpm == 130
    assert model.vitals(149).heart_rate_bpm == 130
    assert model.vitals(150).heart_rate_bpm == 70
    assert model.vitals(310).spo2_percent == pytest.approx(87)


def test_vitals_stay_within_physiological_bounds() -> None:
    events = (
        Desaturation(start_s=0, duration_s=100, spo2_drop_percent=80, ramp_s=0),
        Tachycardia(start_s=0, duration_s=100, heart_rate_bpm=10, ramp_s=0),
    )
    low = Vitals(heart_rate_bpm=70, systolic_mmhg=55, diastolic_mmhg=60, spo2_percent=99.9)
    model = SessionModel(scenario(events=events, baseline=low, noise=Noise()))

    vitals = model.vitals(50)
    assert vitals.spo2_percent == 50.0
    assert vitals.heart_rate_bpm == 25.0
    assert vitals.diastolic_mmhg <= vitals.systolic_mmhg - 10
    assert SessionModel(scenario(baseline=low, noise=Noise())).vitals(500).spo2_percent <= 100


def test_noise_is_deterministic_given_the_seed_and_has_the_asked_spread() -> None:
    noisy = Noise(heart_rate_bpm=3, systolic_mmhg=4, diastolic_mmhg=2, spo2_percent=0.5)
    first = SessionModel(scenario(noise=noisy, duration_s=8 * HOUR))
    again = SessionModel(scenario(noise=noisy, duration_s=8 * HOUR))
    other = SessionModel(scenario(noise=noisy, duration_s=HOUR, seed=2))
    times = range(0, 8 * 3600, 60)

    heart_rates = [first.vitals(t).heart_rate_bpm for t in times]
    assert heart_rates == [again.vitals(t).heart_rate_bpm for t in times]
    assert heart_rates[:60] != [other.vitals(t).heart_rate_bpm for t in times[:60]]
    assert statistics.pstdev(heart_rates) == pytest.approx(3, rel=0.35)
    assert statistics.mean(heart_rates) == pytest.approx(70, abs=1.5)
    # Between the per-second samples the drift is interpolated, and held past the end.
    assert first.vitals(10.5).heart_rate_bpm == pytest.approx(
        (first.vitals(10).heart_rate_bpm + first.vitals(11).heart_rate_bpm) / 2
    )
    assert first.vitals(9 * HOUR) == first.vitals(10 * HOUR)
    assert first.vitals(-5) == first.vitals(0)


# Device states ------------------------------------------------------------------------------------


def test_device_state_follows_motion_sensor_off_and_walk_away_events() -> None:
    events = (
        Motion(start_s=100, duration_s=60, devices=frozenset({DeviceKind.PULSE_OXIMETER})),
        SensorOff(start_s=300, duration_s=120, device=DeviceKind.HEART_RATE, drop_link_after_s=25),
        SensorOff(start_s=300, duration_s=120, device=DeviceKind.PULSE_OXIMETER),
        WalkAway(start_s=400, duration_s=60),
    )
    model = SessionModel(scenario(events=events))

    def state(kind: DeviceKind, t: float) -> tuple[Presence, bool, bool]:
        s = model.device_state(kind, t)
        return s.presence, s.contact, s.motion

    present, asleep, away = Presence.PRESENT, Presence.ASLEEP, Presence.AWAY
    assert state(DeviceKind.PULSE_OXIMETER, 120) == (present, True, True)
    assert state(DeviceKind.BLOOD_PRESSURE, 120) == (present, True, False)
    assert state(DeviceKind.HEART_RATE, 310) == (present, False, False)
    assert state(DeviceKind.HEART_RATE, 325) == (asleep, False, False)
    assert state(DeviceKind.PULSE_OXIMETER, 399) == (present, False, False)
    assert state(DeviceKind.HEART_RATE, 410) == (away, False, False)  # away wins over asleep
    assert state(DeviceKind.HEART_RATE, 420) == (away, True, False)
    assert state(DeviceKind.HEART_RATE, 460) == (present, True, False)


def test_strap_drop_delay_is_drawn_in_20_to_30_seconds_from_the_seed() -> None:
    event = SensorOff(start_s=300, duration_s=120, device=DeviceKind.HEART_RATE)
    delays = {
        SessionModel(scenario(seed=seed, events=(event,), duration_s=600)).link_drop_delay_s(event)
        for seed in range(20)
    }
    again = SessionModel(scenario(seed=0, events=(event,))).link_drop_delay_s(event)

    assert all(20 <= d <= 30 for d in delays)
    assert len(delays) == 20
    assert again == SessionModel(scenario(seed=0, events=(event,))).link_drop_delay_s(event)


def test_battery_drains_and_low_battery_events_reset_the_level() -> None:
    strap = dataclasses.replace(STRAP, battery_percent=90, battery_drain_percent_per_hour=2)
    events = (
        LowBattery(start_s=2 * HOUR, device=DeviceKind.HEART_RATE, battery_percent=8),
        LowBattery(start_s=1 * HOUR, device=DeviceKind.HEART_RATE, battery_percent=50),
        LowBattery(start_s=0, device=DeviceKind.PULSE_OXIMETER, battery_percent=1),
    )
    model = SessionModel(scenario(devices=(strap, CUFF, OXIMETER), events=events))

    assert model.battery_percent(DeviceKind.HEART_RATE, 0) == 90
    assert model.battery_percent(DeviceKind.HEART_RATE, 0.5 * HOUR) == 89
    assert model.battery_percent(DeviceKind.HEART_RATE, 1.5 * HOUR) == 49
    assert model.battery_percent(DeviceKind.HEART_RATE, 2 * HOUR) == 8
    assert model.battery_percent(DeviceKind.HEART_RATE, 10 * HOUR) == 0
    assert model.battery_percent(DeviceKind.PULSE_OXIMETER, 2 * HOUR) == 0
    assert model.device_state(DeviceKind.BLOOD_PRESSURE, 0) == DeviceState(
        presence=Presence.PRESENT, contact=True, motion=False, battery_percent=100
    )


def test_a_kind_without_a_device_reads_a_full_battery() -> None:
    model = SessionModel(scenario(devices=()))

    assert model.battery_percent(DeviceKind.HEART_RATE, HOUR) == 100


# Cuff cycles and spot-checks ------------------------------------------------------------------------


def test_cuff_cycles_every_interval_with_readings_near_the_truth() -> None:
    dose = DoseResponse(at_s=0, systolic_rise_mmhg=30, diastolic_rise_mmhg=15)
    motion = Motion(start_s=370, duration_s=10, devices=ALL_DEVICES)
    model = SessionModel(scenario(dose=dose, events=(motion,), duration_s=30 * MINUTE))

    cycles = model.cuff_cycles()
    assert [(c.index, c.start_s, c.end_s) for c in cycles] == [
        (i, 60 + 300 * i, 90 + 300 * i) for i in range(6)
    ]
    assert [c.body_movement for c in cycles] == [False, True, False, False, False, False]
    for cycle in cycles:
        truth = model.vitals(cycle.end_s)
        error = 20 if cycle.body_movement else 8
        assert abs(cycle.systolic_mmhg - truth.systolic_mmhg) < error
        assert abs(cycle.diastolic_mmhg - truth.diastolic_mmhg) < error
        assert cycle.mean_arterial_mmhg == round(
            (cycle.systolic_mmhg + 2 * cycle.diastolic_mmhg) / 3
        )
        assert cycle.pulse_rate_bpm == round(truth.heart_rate_bpm)
    assert (
        cycles
        == SessionModel(scenario(dose=dose, events=(motion,), duration_s=30 * MINUTE)).cuff_cycles()
    )


def test_no_cuff_or_no_interval_means_no_cycles() -> None:
    idle = dataclasses.replace(CUFF, cycle_interval_s=0)

    assert SessionModel(scenario(devices=(STRAP,))).cuff_cycles() == ()
    assert SessionModel(scenario(devices=(idle,))).cuff_cycles() == ()


def test_cuff_pressure_inflates_past_systolic_then_deflates() -> None:
    cycle = CuffCycle(
        index=0,
        start_s=100,
        end_s=130,
        systolic_mmhg=140,
        diastolic_mmhg=90,
        mean_arterial_mmhg=107,
        pulse_rate_bpm=70,
        body_movement=False,
    )

    pressures = [cycle.cuff_pressure_mmhg(t) for t in (99, 100, 106, 112, 121, 130)]
    assert pressures == pytest.approx([0, 0, 85, 170, 85, 0])


def test_spot_checks_every_interval_within_the_session() -> None:
    idle = dataclasses.replace(OXIMETER, spot_check_interval_s=0)

    assert SessionModel(scenario()).spot_check_times() == tuple(600.0 * k for k in range(1, 12))
    assert SessionModel(scenario(devices=(idle,))).spot_check_times() == ()
    assert SessionModel(scenario(devices=())).spot_check_times() == ()


def test_motion_pulls_the_oximeter_reading_down() -> None:
    motion = Motion(start_s=100, duration_s=100, devices=frozenset({DeviceKind.PULSE_OXIMETER}))
    model = SessionModel(scenario(events=(motion,)))

    still = model.spo2_reading(50)
    moving = [model.spo2_reading(t) for t in range(100, 200)]
    assert still == 97
    assert all(50 <= r <= 97 for r in moving)
    assert min(moving) < 94


# Beats ---------------------------------------------------------------------------------------------


def test_beat_train_follows_the_heart_rate_whatever_the_call_pattern() -> None:
    tachycardia = Tachycardia(start_s=60, duration_s=120, heart_rate_bpm=120, ramp_s=0)
    model = SessionModel(scenario(events=(tachycardia,)))
    stepwise = BeatTrain(model, 0)
    coarse = BeatTrain(model, 0)

    fine_rr = [rr for t in range(1, 61) for rr in stepwise.advance(t)]
    coarse_rr = [rr for t in (5, 9.5, 10, *range(15, 61, 5)) for rr in coarse.advance(t)]
    fast = [rr for t in range(61, 180) for rr in stepwise.advance(t)]

    assert fine_rr == coarse_rr
    assert 60_000 / statistics.mean(fine_rr) == pytest.approx(70, abs=3)
    assert 60_000 / statistics.mean(fast[10:]) == pytest.approx(120, abs=5)
    assert statistics.pstdev(fine_rr) > 5  # beat-to-beat variability


def test_beat_train_restarts_after_a_long_gap() -> None:
    train = BeatTrain(SessionModel(scenario()), 0)

    assert train.advance(100) == ()
    assert len(train.advance(102)) in (1, 2, 3)
