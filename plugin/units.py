"""UCUM units the product understands: durations, lengths and laboratory concentrations.

Only the units reports actually use are listed; an unlisted unit is reported back, never guessed.
Mass and substance concentrations convert into each other by the analyte's molar mass.
"""

from __future__ import annotations

from enum import StrEnum

DAYS_PER: dict[str, float] = {
    "min": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "wk": 7.0,
    "mo": 365.25 / 12,  # UCUM mo = mean Julian month
    "a": 365.25,  # UCUM a = Julian year
}

MM_PER: dict[str, float] = {"mm": 1.0, "cm": 10.0}


class Dimension(StrEnum):
    MASS_CONCENTRATION = "mass/volume"  # base g/L
    SUBSTANCE_CONCENTRATION = "substance/volume"  # base mol/L
    CATALYTIC_CONCENTRATION = "enzyme activity/volume"  # base U/L


_UNITS: dict[str, tuple[Dimension, float]] = {
    "g/L": (Dimension.MASS_CONCENTRATION, 1.0),
    "g/dL": (Dimension.MASS_CONCENTRATION, 10.0),
    "mg/dL": (Dimension.MASS_CONCENTRATION, 1e-2),
    "mg/L": (Dimension.MASS_CONCENTRATION, 1e-3),
    "ug/mL": (Dimension.MASS_CONCENTRATION, 1e-3),
    "ug/dL": (Dimension.MASS_CONCENTRATION, 1e-5),
    "ug/L": (Dimension.MASS_CONCENTRATION, 1e-6),
    "ng/mL": (Dimension.MASS_CONCENTRATION, 1e-6),
    "ng/dL": (Dimension.MASS_CONCENTRATION, 1e-8),
    "ng/L": (Dimension.MASS_CONCENTRATION, 1e-9),
    "pg/mL": (Dimension.MASS_CONCENTRATION, 1e-9),
    "mol/L": (Dimension.SUBSTANCE_CONCENTRATION, 1.0),
    "mmol/L": (Dimension.SUBSTANCE_CONCENTRATION, 1e-3),
    "umol/L": (Dimension.SUBSTANCE_CONCENTRATION, 1e-6),
    "nmol/L": (Dimension.SUBSTANCE_CONCENTRATION, 1e-9),
    "pmol/L": (Dimension.SUBSTANCE_CONCENTRATION, 1e-12),
    "U/L": (Dimension.CATALYTIC_CONCENTRATION, 1.0),
    "[IU]/L": (Dimension.CATALYTIC_CONCENTRATION, 1.0),
    "kU/L": (Dimension.CATALYTIC_CONCENTRATION, 1e3),
    "ukat/L": (Dimension.CATALYTIC_CONCENTRATION, 60.0),  # 1 µkat = 60 µmol/min = 60 U
}

KNOWN_UNITS = frozenset(_UNITS)


def is_known(unit: str) -> bool:
    return unit in _UNITS


def converter(from_unit: str, to_unit: str, molar_mass: float | None) -> float | None:
    """The factor turning a value in `from_unit` into `to_unit`, or None when they do not convert."""
    if from_unit not in _UNITS or to_unit not in _UNITS:
        return None
    (dim_from, f_from), (dim_to, f_to) = _UNITS[from_unit], _UNITS[to_unit]
    if dim_from == dim_to:
        return f_from / f_to
    if molar_mass is None:
        return None
    mass, substance = Dimension.MASS_CONCENTRATION, Dimension.SUBSTANCE_CONCENTRATION
    if dim_from == substance and dim_to == mass:
        return f_from * molar_mass / f_to
    if dim_from == mass and dim_to == substance:
        return f_from / molar_mass / f_to
    return None


def to_days(value: float, unit: str) -> float:
    return value * DAYS_PER[unit]


def to_mm(value: float, unit: str) -> float:
    return value * MM_PER[unit]
