"""Parameters of the SCIP simulation: frozen, validated dataclasses with defaults, units and sources.

Every coefficient the phase code uses is a dataclass field here (none is hard-coded in the phase
modules); its metadata records the allowed range, the unit, a short description and the source of
its default in one of three forms:

* ``value taken from <paper, table>``: the number itself is published;
* ``mechanism from <paper>; value calibrated``: the rule is published or argued in the paper, the
  number was chosen so the default model reproduces the *calibration* targets
  (:mod:`sciplab.sim.targets`);
* ``mechanism from <paper>; value inferred`` or ``[inference] ...``: a design choice, a hypothesis to
  test, not a finding.

Units are explicit: the adult phase runs in weeks, childhood in months; rates are per step of the
phase they are used in (a published per-year rate ``r`` becomes ``1 - (1 - r) ** (1 / 52)`` per week,
stated next to the parameter when it is used). Validation happens on construction; an out-of-range
value raises :class:`~sciplab._core.errors.InvalidParameterError` naming the parameter
(``network.meet_rate``), the bad value and the allowed range. :func:`parameter_table` lists all of
them (it generates the parameter tables of ``docs/simulation-model.md``).

Papers: Mallinckrodt (2000); Mallinckrodt & Wei (2005); Wei, Russell & Zakalik (2005); Fraley
(2002); De Wolff & van IJzendoorn (1997); van IJzendoorn (1995); Petters (2004-2008); Cittern et al.
(2018); Snijders, van de Bunt & Steglich (2010, SAOM); Hill et al. (2010); Cacioppo et al. (2009);
Cramer et al. (2016); Daly & Mallinckrodt (2009); Mallinckrodt (2010); Mallinckrodt, Choi & Daly
(2015); Boker (2015); Safran, Muran & Eubanks-Carter (2011); Eubanks, Muran & Safran (2018).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab.sim._fields import INF, POLICIES, _p, _Validated
from sciplab.sim._params_life import ChildhoodParams, DistressParams, NetworkParams
from sciplab.sim._params_therapy import MeasurementParams, TherapyParams

__all__ = [
    "POLICIES",
    "ChildhoodParams",
    "DistressParams",
    "MeasurementParams",
    "NetworkParams",
    "SimParams",
    "TherapyParams",
    "parameter_table",
]


@dataclasses.dataclass(frozen=True)
class SimParams(_Validated):
    """All parameters of one simulation run.

    Examples
    --------
    >>> p = SimParams(n_agents=100)
    >>> p.network.max_ties
    64
    >>> p.updated({"network.meet_rate": 0.3}).network.meet_rate
    0.3
    """

    section: ClassVar[str] = ""

    n_agents: int = _p(2000, 2, 20_000_000, "number of agents", INF, "agents")
    years: float = _p(
        4.0, 0.0, 100.0, "years of adult network dynamics before help-seeking (52 weeks each)", INF, "years"
    )
    followup_weeks: int = _p(26, 0, 5200, "weeks of follow-up after therapy", INF, "weeks")
    childhood_months: int = _p(216, 12, 600, "months of childhood (18 years x 12)", INF, "months")
    childhood: ChildhoodParams = dataclasses.field(default_factory=ChildhoodParams)
    network: NetworkParams = dataclasses.field(default_factory=NetworkParams)
    distress: DistressParams = dataclasses.field(default_factory=DistressParams)
    therapy: TherapyParams = dataclasses.field(default_factory=TherapyParams)
    measurement: MeasurementParams = dataclasses.field(default_factory=MeasurementParams)

    def updated(self, changes: Mapping[str, Any]) -> SimParams:
        """A copy with dotted-name changes (``{"network.meet_rate": 0.3, "n_agents": 500}``).

        Unknown names raise :class:`InvalidParameterError` with close-name suggestions.
        """
        names = parameter_names()
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if key not in names:
                raise InvalidParameterError(f"unknown simulation parameter {key!r}{suggest(key, names)}")
            if "." in key:
                sec, name = key.split(".", 1)
                nested.setdefault(sec, {})[name] = value
            else:
                top[key] = value
        for sec, vals in nested.items():
            top[sec] = dataclasses.replace(getattr(self, sec), **vals)
        return dataclasses.replace(self, **top)

    def flat(self) -> dict[str, Any]:
        """All parameters as ``{dotted name: value}``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value):
                for g in dataclasses.fields(value):
                    out[f"{f.name}.{g.name}"] = getattr(value, g.name)
            else:
                out[f.name] = value
        return out


_SECTIONS = ("childhood", "network", "distress", "therapy", "measurement")


def parameter_names() -> list[str]:
    """Every dotted parameter name (``n_agents``, ``network.meet_rate``, ...)."""
    return list(SimParams(n_agents=2).flat())


def _basis(source: str) -> str:
    if source.startswith("value taken from"):
        return "taken"
    if source.startswith("standardisation"):
        return "standardisation"
    return "calibrated" if "calibrated" in source else "inferred"


def parameter_table() -> pd.DataFrame:
    """One row per parameter: ``name``, ``default``, ``min``, ``max``, ``unit``, ``description``, ``source``, ``basis``.

    ``basis`` is ``taken`` (the number is published), ``calibrated`` (mechanism from a source or
    [inference], number chosen to reproduce the calibration targets), ``inferred`` (design choice) or
    ``standardisation`` (a centring/scaling constant of the default population).

    Examples
    --------
    >>> t = parameter_table().set_index("name")
    >>> t.loc["distress.connectivity", "basis"]
    'taken'
    >>> t.loc["network.meet_rate", "unit"]
    'per week'
    """
    rows = []
    for f in dataclasses.fields(SimParams):
        fields = dataclasses.fields(f.default_factory) if f.name in _SECTIONS else [f]  # type: ignore[arg-type, misc]
        for g in fields:
            name = f"{f.name}.{g.name}" if f.name in _SECTIONS else f.name
            lo, hi = g.metadata["range"]
            src = g.metadata["source"]
            rows.append((name, g.default, lo, hi, g.metadata.get("unit", ""), g.metadata["doc"], src, _basis(src)))
    return pd.DataFrame(rows, columns=["name", "default", "min", "max", "unit", "description", "source", "basis"])
