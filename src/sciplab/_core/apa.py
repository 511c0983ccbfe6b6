"""APA number style, the one home shared by result summaries (stats), figures (plot) and reports.

Imports numpy only, so every layer may use it.
"""

from __future__ import annotations

import numpy as np


def apa_number(value: float, digits: int = 2, *, leading_zero: bool = False) -> str:
    """A number in APA style: ``digits`` decimals, no leading zero unless asked, never ``-.00``.

    Values bounded by 1 (correlations, standardized coefficients, p) drop the leading zero; a value
    that rounds to zero carries no sign. Not finite -> ``""``.

    Examples
    --------
    >>> apa_number(-0.0213), apa_number(-0.004), apa_number(0.5, 3), apa_number(1.234, leading_zero=True)
    ('-.02', '.00', '.500', '1.23')
    """
    if value is None or not np.isfinite(value):
        return ""
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    if not leading_zero:
        text = text.replace("0.", ".", 1) if text.lstrip("-").startswith("0.") else text
    return text


def apa_p(p: float | None) -> str:
    """An APA p-value: three decimals without the leading zero, ``< .001`` below .001; ``""`` if missing.

    Examples
    --------
    >>> apa_p(0.0004), apa_p(0.0312), apa_p(1.0), apa_p(float("nan"))
    ('< .001', '.031', '1.000', '')
    """
    if p is None or not np.isfinite(p):
        return ""
    return "< .001" if p < 0.001 else apa_number(p, 3)
