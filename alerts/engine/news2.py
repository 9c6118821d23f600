"""NEWS2 (Royal College of Physicians, 2017) from the parameters a home session has.

Only pulse, SpO2 (scale 1) and systolic BP are usually measured; respiration rate,
temperature, consciousness and supplemental oxygen usually are not. The score is the sum
over the parameters present, and `missing` names every parameter it lacks: a partial
NEWS2 under-reads and must be shown as partial, never completed with invented values.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

# (upper bound inclusive, score) bands, lowest first; the last band has no upper bound.
_PULSE = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (float("inf"), 3))
_SPO2_SCALE1 = ((91, 3), (93, 2), (95, 1), (float("inf"), 0))
_SYSTOLIC = ((90, 3), (100, 2), (110, 1), (219, 0), (float("inf"), 3))
_RESPIRATION = ((8, 3), (11, 1), (20, 0), (24, 2), (float("inf"), 3))

_TABLES: dict[str, tuple[tuple[float, int], ...]] = {
    "respiration_rate": _RESPIRATION,
    "spo2": _SPO2_SCALE1,
    "systolic_bp": _SYSTOLIC,
    "pulse": _PULSE,
}
ALL_PARAMETERS = (
    "respiration_rate",
    "spo2",
    "supplemental_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)


class News2Risk(StrEnum):
    LOW = "low"  # aggregate 0-4
    LOW_MEDIUM = "low_medium"  # a single parameter scoring 3
    MEDIUM = "medium"  # aggregate 5-6
    HIGH = "high"  # aggregate 7 or more


@dataclass(frozen=True, slots=True, kw_only=True)
class News2Score:
    total: int
    components: Mapping[str, int]
    missing: tuple[str, ...]
    risk: News2Risk

    @property
    def partial(self) -> bool:
        return bool(self.missing)


def _band_score(table: tuple[tuple[float, int], ...], value: float) -> int:
    # NEWS2 bands are whole numbers; a fractional reading belongs to the band of its rounding.
    rounded = round(value)
    return next(score for upper, score in table if rounded <= upper)


def news2_score(parameters: Mapping[str, float]) -> News2Score:
    """Score the parameters given (keys of `ALL_PARAMETERS` that have a table)."""
    components = {
        name: _band_score(table, parameters[name])
        for name, table in _TABLES.items()
        if name in parameters
    }
    total = sum(components.values())
    if total >= 7:
        risk = News2Risk.HIGH
    elif total >= 5:
        risk = News2Risk.MEDIUM
    elif 3 in components.values():
        risk = News2Risk.LOW_MEDIUM
    else:
        risk = News2Risk.LOW
    missing = tuple(name for name in ALL_PARAMETERS if name not in components)
    return News2Score(total=total, components=components, missing=missing, risk=risk)
