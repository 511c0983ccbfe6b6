"""Field helpers shared by the parameter sections of :mod:`sciplab.sim.params` (range, unit, source)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from sciplab._core.errors import InvalidParameterError, suggest

POLICIES = ("fixed", "complementary", "scip", "disconfirming")


def _p(
    default: Any, lo: float | None = None, hi: float | None = None, doc: str = "", source: str = "", unit: str = ""
) -> Any:
    """A dataclass field with range, unit, description and source in its metadata."""
    return dataclasses.field(default=default, metadata={"range": (lo, hi), "doc": doc, "source": source, "unit": unit})


def taken(ref: str) -> str:
    """Source of a published number."""
    return f"value taken from {ref}"


def mech_cal(ref: str) -> str:
    """Source of a published or argued mechanism whose number was calibrated."""
    return f"mechanism from {ref}; value calibrated"


def mech_inf(ref: str) -> str:
    """Source of a published or argued mechanism whose number is a design choice."""
    return f"mechanism from {ref}; value inferred"


class _Validated:
    """Mixin: check every field against its metadata range after construction."""

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if "range" not in f.metadata:
                continue
            value = getattr(self, f.name)
            name = f"{self.section}.{f.name}" if self.section else f.name
            lo, hi = f.metadata["range"]
            if isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise InvalidParameterError(f"{name} must be true or false, got {value!r}")
                continue
            if isinstance(f.default, str):
                choices = f.metadata.get("choices") or ()
                if choices and value not in choices:
                    raise InvalidParameterError(
                        f"{name} must be one of {', '.join(choices)}, got {value!r}{suggest(str(value), choices)}"
                    )
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidParameterError(f"{name} must be a number, got {value!r}")
            if isinstance(f.default, int) and not isinstance(value, int):
                if not float(value).is_integer():
                    raise InvalidParameterError(f"{name} must be a whole number, got {value!r}")
                object.__setattr__(self, f.name, int(value))
                value = int(value)
            if not math.isfinite(float(value)):
                raise InvalidParameterError(f"{name} must be finite, got {value!r}")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                allowed = f"{lo if lo is not None else '-inf'} <= {f.name} <= {hi if hi is not None else 'inf'}"
                raise InvalidParameterError(
                    f"{name} = {value!r} is out of range; allowed: {allowed} ({f.metadata['doc']})"
                )


CAL = "[inference] mechanism; value calibrated"
INF = "[inference] mechanism and value"
NORM = "standardisation constant (z units of the default population); value calibrated"
