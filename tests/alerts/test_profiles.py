import math
import re
import tomllib
from pathlib import Path

import pytest
from alerts_testkit import ketamine

from alerts.errors import AlertsError, ProfileError
from alerts.profiles import (
    BUNDLED_PROFILES,
    QUALITY_FLAGS,
    Comparison,
    ConditionRule,
    Direction,
    Metric,
    Priority,
    RuleKind,
    apply_overrides,
    bundled_profile,
    load_profile,
    parse_profile,
    parse_profile_text,
)
from vigil.wire import FLAGS

PROFILE_DIR = Path(__file__).parents[2] / "alerts" / "profiles"


def ketamine_text() -> str:
    return (PROFILE_DIR / "ketamine-home.toml").read_text(encoding="utf-8")


def test_bundled_profiles_load():
    for name in BUNDLED_PROFILES:
        assert bundled_profile(name).name == name


def test_ketamine_defaults():
    profile = ketamine()
    rules = {rule.rule_id: rule for rule in profile.rules}
    assert rules["spo2_low"] == ConditionRule(
        rule_id="spo2_low",
        kind=RuleKind.THRESHOLD,
        metric=Metric.SPO2,
        comparison=Comparison.BELOW,
        limit=90,
        reset=92,
        delay_s=15,
        priority=Priority.MEDIUM,
        latching=False,
    )
    assert (rules["sbp_rise"].limit, rules["dbp_rise"].limit) == (40, 25)
    assert rules["spo2_falling"].direction is Direction.FALLING
    assert dict(profile.predose_gate.limits) == {"sbp": 140, "dbp": 90, "hr": 100}
    assert dict(profile.escalation.after_s) == {"high": 60, "medium": 300}
    assert profile.inactivation.acknowledge_s == 300


def test_every_default_in_the_ketamine_profile_names_its_source():
    """Every numeric setting carries a [Source] tag on its line or in the comments of its
    table, limits carry one on their own line, and every tag is defined in the legend."""
    text = ketamine_text()
    legend = set(re.findall(r"^#\s+\[([\w-]+)\]", text, flags=re.MULTILINE))
    assert {
        "Spravato",
        "Gate140",
        "Agreement",
        "NEWS2",
        "SpO2-88",
        "Fatigue",
        "IEC",
        "Choice",
    } <= legend
    table_tags: set[str] = set()
    table = ""
    for line in text.splitlines()[20:]:  # after the legend
        header = re.match(r"^\[([\w.-]+)\]", line)
        if header:
            table, table_tags = header.group(1), set()
            continue
        tags = set(re.findall(r"\[([\w-]+)\]", line.partition("#")[2]))
        assert tags <= legend, line
        table_tags |= tags
        setting = re.match(r"^(\w+)\s*=\s*(-?[\d.]+)", line)
        if setting is None:
            continue
        if setting.group(1) in {"limit", "limit_pct"} or table == "predose_gate":
            assert tags, f"[{table}] {line}"
        else:
            assert tags or table_tags, f"[{table}] {line}"


def test_load_profile_from_a_path(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(ketamine_text(), encoding="utf-8")
    assert load_profile(path) == ketamine()


def test_unreadable_profile_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(tmp_path / "missing.toml")


def test_unknown_bundled_profile():
    with pytest.raises(ProfileError, match="no bundled profile 'nope'"):
        bundled_profile("nope")


def test_profile_error_is_an_alerts_error():
    assert issubclass(ProfileError, AlertsError)


def test_invalid_toml():
    with pytest.raises(ProfileError, match="not valid TOML"):
        parse_profile_text("[profile\n")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rules": {"spo2_low": {"dealy_s": 3}}}, r"rules\.spo2_low: unknown key\(s\) dealy_s"),
        ({"rules": {"spo2_low": {"limit": "90"}}}, r"rules\.spo2_low\.limit: must be a number"),
        ({"rules": {"spo2_low": {"limit": True}}}, r"rules\.spo2_low\.limit: must be a number"),
        ({"rules": {"spo2_low": {"limit": math.inf}}}, r"rules\.spo2_low\.limit: must be finite"),
        ({"rules": {"spo2_low": {"reset": 89}}}, r"reset must lie above limit for 'below'"),
        ({"rules": {"hr_high": {"reset": 131}}}, r"reset must lie below limit for 'at_or_above'"),
        ({"rules": {"hr_low": {"reset": 40}}}, r"reset must lie above limit for 'at_or_below'"),
        ({"rules": {"sbp_elevated": {"reset": 161}}}, r"reset must lie below limit for 'above'"),
        ({"rules": {"spo2_low": {"delay_s": -1}}}, r"delay_s must be >= 0"),
        ({"rules": {"spo2_low": {"priority": "urgent"}}}, r"'urgent' is not one of high"),
        ({"rules": {"spo2_low": {"latching": "yes"}}}, r"must be true or false"),
        ({"rules": {"spo2_low": {"window_s": 30}}}, r"window_s and direction are required"),
        ({"rules": {"spo2_falling": {"window_s": 0}}}, r"window_s must be > 0"),
        (
            {"rules": {"spo2_falling": {"comparison": "below", "reset": 6}}},
            r"a rate rule compares 'above'",
        ),
        ({"rules": {"spo2_low": "off"}}, r"rules\.spo2_low: must be a table"),
        ({"rules": {"spo2_low": {"limit": {"x": 1}}}}, r"spo2_low\.limit: is a value, not a table"),
        ({"rules": {"new_rule": {"kind": "threshold"}}}, r"rules\.new_rule\.metric: missing"),
        ({"gates": {"motion": {"flags": ["wobble"]}}}, r"unknown flag\(s\) \['wobble'\]"),
        ({"gates": {"motion": {"flags": []}}}, r"flags must name at least one"),
        ({"gates": {"motion": {"metrics": []}}}, r"metrics must name at least one"),
        ({"gates": {"motion": {"metrics": ["ecg"]}}}, r"gates\.motion\.metrics: 'ecg' is not one"),
        ({"gates": {"motion": {"flags": "body_movement"}}}, r"must be a list of strings"),
        ({"gates": {"motion": {"delay_s": -2}}}, r"gates\.motion: delay_s must be >= 0"),
        ({"baseline": {"window_s": 0}}, r"baseline: window_s must be > 0"),
        ({"baseline": {"min_readings": 0}}, r"min_readings must be >= 1"),
        ({"baseline": {"min_readings": 1.5}}, r"must be an integer"),
        ({"predose_gate": {"sbp": math.nan}}, r"predose_gate\.sbp: must be finite"),
        ({"predose_gate": {"temp": 38}}, r"predose_gate\.temp: 'temp' is not one of"),
        ({"inactivation": {"acknowledge_s": 0}}, r"inactivation\.acknowledge_s: must be > 0"),
        ({"escalation": {"low": 0}}, r"escalation\.low: must be > 0"),
        ({"escalation": {"urgent": 5}}, r"escalation\.urgent: 'urgent' is not one of"),
        ({"technical": {"battery_low": {"limit_pct": 120}}}, r"limit_pct must be within 0\.\.100"),
        ({"technical": {"battery_low": {"reset_pct": 10}}}, r"reset_pct must lie above limit_pct"),
        (
            {"technical": {"device_disconnected": {"delay_s": -1}}},
            r"technical\.device_disconnected",
        ),
        ({"technical": {"stale": {"metrics": ["hr", "ecg"]}}}, r"'ecg' is not one of"),
        ({"technical": {"stale": {"after_s": {"spo2": 0}}}}, r"after_s\.spo2: a watched metric"),
        ({"technical": {"nope": {}}}, r"technical: unknown key\(s\) nope"),
        ({"profile": {"name": 3}}, r"profile\.name: must be a string"),
        ({"profile": {"extra": 3}}, r"profile: unknown key\(s\) extra"),
        ({"extra": {}}, r"^profile: unknown key\(s\) extra"),
        ({"rules": {"spo2_low": {"kind": "magic"}}}, r"'magic' is not one of threshold"),
    ],
)
def test_invalid_overrides_name_the_key(overrides, message):
    with pytest.raises(ProfileError, match=message):
        apply_overrides(ketamine(), overrides)


def test_a_value_where_a_table_belongs():
    document = tomllib.loads(ketamine_text())
    document["rules"]["spo2_low"] = 1
    with pytest.raises(ProfileError, match=r"^rules\.spo2_low: must be a table"):
        parse_profile(document)


def test_duplicate_ids_are_rejected():
    profile = ketamine()
    rule = profile.rules[0]
    with pytest.raises(ProfileError, match="rule ids must be unique"):
        type(profile)(**{**_fields(profile), "rules": (rule, rule)})
    gate = profile.gates[0]
    with pytest.raises(ProfileError, match="gate ids must be unique"):
        type(profile)(**{**_fields(profile), "gates": (gate, gate)})


@pytest.mark.parametrize("bad", ["hr high", "hr:high", "", "_hr", "h" * 65, "hr\nhigh", "hr.high"])
def test_rule_ids_that_cannot_be_part_of_an_alarm_id_are_rejected(bad):
    document = tomllib.loads(ketamine_text())
    document["rules"][bad] = document["rules"].pop("spo2_low")
    with pytest.raises(ProfileError, match=r"an id is 1-64 letters"):
        parse_profile(document)


def _fields(obj):
    return {name: getattr(obj, name) for name in obj.__slots__}


def test_overrides_change_one_setting_and_keep_the_rest():
    base = ketamine()
    changed = apply_overrides(
        base,
        {
            "rules": {"spo2_low": {"limit": 88, "reset": 91}, "hr_high": {"enabled": False}},
            "technical": {"stale": {"metrics": ["hr", "spo2"]}},
        },
    )
    rules = {rule.rule_id: rule for rule in changed.rules}
    assert (rules["spo2_low"].limit, rules["spo2_low"].reset) == (88, 91)
    assert rules["hr_high"].enabled is False
    assert changed.technical.stale.metrics == {Metric.HR, Metric.SPO2}
    assert [r for r in changed.rules if r.rule_id not in {"spo2_low", "hr_high"}] == [
        r for r in base.rules if r.rule_id not in {"spo2_low", "hr_high"}
    ]
    # The base profile is untouched (documents are deeply read-only).
    assert {r.rule_id: r.limit for r in base.rules}["spo2_low"] == 90
    with pytest.raises(TypeError):
        base.document["rules"]["spo2_low"]["limit"] = 1  # type: ignore[index]


def test_overrides_can_add_a_complete_rule():
    profile = apply_overrides(
        ketamine(),
        {
            "rules": {
                "map_low": {
                    "kind": "threshold",
                    "metric": "map",
                    "comparison": "below",
                    "limit": 65,
                    "reset": 70,
                    "delay_s": 0,
                    "priority": "medium",
                    "latching": False,
                }
            }
        },
    )
    assert profile.rules[-1].rule_id == "map_low"


def test_rate_rule_in_rising_direction_is_valid():
    profile = apply_overrides(ketamine(), {"rules": {"spo2_falling": {"direction": "rising"}}})
    assert profile.rules[2].direction is Direction.RISING


def test_quality_flags_cover_the_wire_vocabulary():
    assert set(QUALITY_FLAGS) == set(FLAGS) | {"no_contact"}
    assert len(QUALITY_FLAGS) <= 63  # the batch bitmask is an int64
