"""Input checks and the computing core of :func:`sciplab.stats.circumplex.ssm`.

Column, angle and group checks; the prepared data; profiles from resampling weights; contrast pairs;
interval helpers for contrasts. Split from ``circumplex.py`` so each module stays readable; only
:mod:`sciplab.stats.circumplex` uses it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.angles import wrap_pi
from sciplab._core.errors import DataError, DataWarning, InvalidParameterError, suggest
from sciplab._core.validation import require_frame
from sciplab.stats._bootstrap import (
    percentile_ci,
)
from sciplab.stats._formulas import weighted_correlations, weighted_means

_ALL = "All"


# ---------------------------------------------------------------------------------------------
# Input checks


def _check_frame(data: Any) -> pd.DataFrame:
    require_frame(data)
    if data.shape[0] == 0:
        raise DataError("data has no rows")
    return data


def _where(data: pd.DataFrame) -> str:
    src = data.attrs.get("source")
    return f"{src}: " if src else ""


def _column_list(value: Any, arg: str) -> list[str]:
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, Sequence | pd.Index | np.ndarray):
        items = list(value)
    else:
        raise InvalidParameterError(f"{arg} must be a list of column names, got {type(value).__name__}")
    if not items:
        raise InvalidParameterError(f"{arg} must name at least one column, got an empty list")
    dup = sorted({str(c) for c in items if items.count(c) > 1})
    if dup:
        raise InvalidParameterError(f"{arg}: column(s) listed twice: {', '.join(dup)}")
    return items


def _check_columns(data: pd.DataFrame, cols: list[Any], arg: str) -> None:
    where = _where(data)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        parts = [f"'{c}'{suggest(str(c), map(str, data.columns))}" for c in missing]
        raise DataError(
            f"{where}{arg}: column(s) not found in the data: {'; '.join(parts)}; "
            f"available columns: {', '.join(map(str, data.columns))}"
        )
    for c in cols:
        col = data[c]
        if pd.api.types.is_complex_dtype(col):
            raise DataError(
                f"{where}{arg}: column '{c}' holds complex numbers (dtype {col.dtype}); SSM needs real "
                "numbers (the imaginary part would be lost); convert it to real scores first"
            )
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            bad = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()]
            example = f"; e.g. {bad.iloc[0]!r} in row {bad.index[0]}" if len(bad) else ""
            raise DataError(
                f"{where}{arg}: column '{c}' is not numeric (dtype {col.dtype}){example}; convert it to numbers first"
            )


def _check_angles(angles_deg: Any, m: int) -> np.ndarray:
    try:
        ang = np.asarray(angles_deg, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidParameterError(f"angles_deg must be numbers in degrees, got {angles_deg!r}") from None
    if ang.size != m:
        raise InvalidParameterError(
            f"angles_deg has {ang.size} angle(s) but there are {m} scales; give one angle per scale"
        )
    if not np.all(np.isfinite(ang)):
        raise InvalidParameterError(f"angles_deg must be finite, got {ang.tolist()}")
    bad = ang[(ang < 0) | (ang > 360)]
    if bad.size:
        raise InvalidParameterError(f"angles_deg must lie in [0, 360) degrees (360 accepted as 0), got {bad.tolist()}")
    reduced = np.mod(ang, 360.0)
    if np.unique(reduced).size != m:
        raise InvalidParameterError(f"angles_deg contains the same direction twice: {ang.tolist()}")
    return ang


def _group_levels(col: pd.Series) -> list[Any]:
    present = col.dropna()
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [c for c in col.cat.categories if (present == c).any()]
    levels = list(pd.unique(present))
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)



# ---------------------------------------------------------------------------------------------
# Internals


@dataclasses.dataclass
class _Prepared:
    X: np.ndarray  # (n, m) scales, centred per group for correlations, 0 where missing
    Y: np.ndarray | None  # (n, M) measures
    VX: np.ndarray | None  # validity masks (pairwise only)
    VY: np.ndarray | None
    codes: np.ndarray  # (n,) group codes 0..G-1
    groups: list[Any]
    group_names: list[str]
    members: list[np.ndarray]
    rows_dropped: int
    drop_reasons: dict[str, int]
    corr: bool
    scale_names: list[str]
    measure_names: list[str]

    @property
    def n(self) -> int:
        return int(self.codes.shape[0])

    @property
    def masked(self) -> bool:
        return self.VX is not None

    @property
    def group_sizes(self) -> list[int]:
        return [int(mem.size) for mem in self.members]

    def n_used(self, labels: list[str]) -> dict[str, dict[str, int]]:
        """Rows behind each profile's score on each scale."""
        out: dict[str, dict[str, int]] = {}
        M = max(len(self.measure_names), 1)
        for g, mem in enumerate(self.members):
            for j in range(M):
                label = labels[g * M + j]
                if self.VX is None:
                    out[label] = {s: int(mem.size) for s in self.scale_names}
                else:
                    v = self.VX[mem]
                    if self.VY is not None:
                        v = v & self.VY[mem][:, [j]]
                    out[label] = {s: int(k) for s, k in zip(self.scale_names, v.sum(axis=0), strict=True)}
        return out


def _prepare(
    data: pd.DataFrame, scales: list[Any], measures: list[Any], group: str | None, listwise: bool
) -> _Prepared:
    where = _where(data)
    reasons: dict[str, int] = {}
    keep = np.ones(data.shape[0], dtype=bool)
    if group is not None:
        gmiss = data[group].isna().to_numpy()
        if gmiss.any():
            reasons[f"missing {group}"] = int(gmiss.sum())
            rows = ", ".join(map(str, data.index[gmiss][:5])) + (" ..." if gmiss.sum() > 5 else "")
            warnings.warn(
                f"{where}group '{group}' is missing in {int(gmiss.sum())} row(s) ({rows}); they are left out",
                DataWarning,
                stacklevel=3,
            )
        keep &= ~gmiss
    cols = list(scales) + list(measures)
    values = data[cols].to_numpy(dtype=float)
    miss = ~np.isfinite(values)
    if miss[keep].any():
        per_col = miss[keep].sum(axis=0)
        counts = ", ".join(f"{c} {k}" for c, k in zip(cols, per_col, strict=True) if k)
        if listwise:
            incomplete = keep & miss.any(axis=1)
            reasons["incomplete (listwise)"] = int(incomplete.sum())
            keep &= ~incomplete
            warnings.warn(
                f"{where}listwise deletion: {int(incomplete.sum())} row(s) with missing values "
                f"({counts}) left out; {int(keep.sum())} of {data.shape[0]} rows used",
                DataWarning,
                stacklevel=3,
            )
        else:
            used = (~miss[keep]).sum(axis=0)
            warnings.warn(
                f"{where}pairwise deletion: missing values ({counts}); each mean or correlation "
                f"uses its own available rows (n from {int(used.min())} to {int(used.max())}; "
                "see details['n_used'])",
                DataWarning,
                stacklevel=3,
            )
    sub = values[keep]
    if group is None:
        codes = np.zeros(sub.shape[0], dtype=np.int64)
        groups: list[Any] = [_ALL]
    else:
        gcol = data[group][keep]
        groups = _group_levels(gcol)
        codes = pd.Categorical(gcol, categories=groups).codes.astype(np.int64)
        # rows grouped contiguously (stable): each group's weights are a view, not a copy
        order = np.argsort(codes, kind="stable")
        codes, sub = codes[order], sub[order]
    bounds = np.searchsorted(codes, np.arange(len(groups) + 1))
    members = [np.arange(bounds[k], bounds[k + 1]) for k in range(len(groups))]
    group_names = [str(g) for g in groups]
    if sub.shape[0] == 0:
        raise DataError(f"{where}no rows left after removing missing values")
    for name, mem in zip(group_names, members, strict=True):
        if mem.size < 2:
            what = f"group '{group}' level '{name}'" if group is not None else "the data"
            raise DataError(f"{where}{what} has {mem.size} usable row(s); each group needs at least 2 rows")
    m = len(scales)
    valid = np.isfinite(sub)
    X = np.where(valid[:, :m], sub[:, :m], 0.0)
    Y = np.where(valid[:, m:], sub[:, m:], 0.0) if measures else None
    masked = not listwise and not valid.all()
    corr = bool(measures)
    if corr:
        # centre within each group (pairwise: on the available values) for accurate sums
        for mem in members:
            block = np.where(valid[mem], sub[mem], np.nan)
            centre = np.nanmean(block, axis=0) if block.shape[0] else 0.0
            centre = np.where(np.isfinite(centre), centre, 0.0)
            X[mem] = np.where(valid[mem, :m], sub[mem, :m] - centre[:m], 0.0)
            Y[mem] = np.where(valid[mem, m:], sub[mem, m:] - centre[m:], 0.0)  # type: ignore[index]
    return _Prepared(
        X=X,
        Y=Y,
        VX=valid[:, :m] if masked else None,
        VY=valid[:, m:] if masked and corr else None,
        codes=codes,
        groups=groups,
        group_names=group_names,
        members=members,
        rows_dropped=int(data.shape[0] - keep.sum()),
        drop_reasons=reasons,
        corr=corr,
        scale_names=[str(s) for s in scales],
        measure_names=[str(c) for c in measures],
    )


def _profiles(prep: _Prepared, w: np.ndarray) -> np.ndarray:
    """Profiles of every group (and measure) under weights ``w`` (``(B, n)``) -> ``(B, G, M, m)``."""
    out = []
    for mem in prep.members:
        rows = slice(int(mem[0]), int(mem[-1]) + 1)  # contiguous block of rows (see _prepare)
        wg = w[:, rows]
        if prep.corr:
            prof = weighted_correlations(
                wg,
                prep.Y[rows],  # type: ignore[index]
                prep.X[rows],
                None if prep.VY is None else prep.VY[rows],
                None if prep.VX is None else prep.VX[rows],
            )
        else:
            prof = weighted_means(wg, prep.X[rows], None if prep.VX is None else prep.VX[rows])[:, None, :]
        out.append(prof)
    return np.stack(out, axis=1)


def _profile_labels(
    prep: _Prepared, measures: list[Any], group: str | None
) -> tuple[list[str], list[str], list[str | None]]:
    labels, groups, meas = [], [], []
    for g in prep.group_names:
        if not measures:
            labels.append(g)
            groups.append(g)
            meas.append(None)
            continue
        for mname in prep.measure_names:
            labels.append(mname if group is None else f"{mname}: {g}")
            groups.append(g)
            meas.append(mname)
    return labels, groups, meas


def _contrast_pairs(
    contrast: bool | str, groups: list[Any], measures: list[Any], group: str | None
) -> list[dict[str, Any]]:
    if contrast is False:
        return []
    G, M = len(groups), len(measures)
    names = [str(g) for g in groups]
    mnames = [str(c) for c in measures]
    what_groups = f"{G} group(s) ({', '.join(names)})" if group is not None else "no group column"
    out: list[dict[str, Any]] = []
    if contrast is True:
        if G == 2 and M <= 1:
            pairs_g: list[tuple[int, int]] = [(0, 1)]
        elif G == 1 and M == 2:
            pairs_g = []
        elif G == 2 and M == 2:
            raise InvalidParameterError(
                "contrast=True compares either two groups (one measure) or two measures (one group), "
                "not both; use contrast='pairwise' to contrast the groups within each measure"
            )
        else:
            raise InvalidParameterError(
                f"contrast=True needs exactly two groups or two measures; got {what_groups} and "
                f"{M} measure(s); use contrast='pairwise' for all pairwise contrasts"
            )
    else:
        if G >= 2:
            pairs_g = list(itertools.combinations(range(G), 2))
        elif M >= 2:
            pairs_g = []
        else:
            raise InvalidParameterError(
                f"contrast='pairwise' needs at least two groups or two measures; got {what_groups} and {M} measure(s)"
            )
    Mk = max(M, 1)
    if pairs_g:
        for j in range(Mk):
            for g1, g2 in pairs_g:
                diff = f"{names[g2]} - {names[g1]}"
                out.append(
                    {
                        "first": g1 * Mk + j,
                        "second": g2 * Mk + j,
                        "label": diff if not measures else f"{mnames[j]}: {diff}",
                        "group": diff,
                        "measure": None if not measures else mnames[j],
                    }
                )
    else:
        for j1, j2 in itertools.combinations(range(M), 2):
            diff = f"{mnames[j2]} - {mnames[j1]}"
            out.append({"first": j1, "second": j2, "label": diff, "group": names[0], "measure": diff})
    return out


def _check_point_correlations(
    profiles: np.ndarray, prep: _Prepared, measures: list[Any], scales: list[Any], group: str | None
) -> None:
    bad = np.argwhere(~np.isfinite(profiles))
    if bad.size == 0:
        return
    g, j, k = bad[0]
    where = f" in group '{prep.group_names[g]}'" if group is not None else ""
    mem = prep.members[g]
    for arr, names, idx, valid in (
        (prep.Y, prep.measure_names, j, prep.VY),
        (prep.X, prep.scale_names, k, prep.VX),
    ):
        col = arr[mem, idx]  # type: ignore[index]
        if valid is not None:
            col = col[valid[mem, idx]]
        if col.size and np.ptp(col) == 0:
            kind = "measure" if names is prep.measure_names else "scale"
            raise DataError(
                f"{kind} '{names[idx]}' is constant{where}; its correlation with the other "
                "variables is undefined -- drop it or check the data"
            )
    raise DataError(
        f"correlation of measure '{prep.measure_names[j]}' with scale '{prep.scale_names[k]}'"
        f"{where} is undefined (fewer than 3 complete pairs or no variance)"
    )


def _linear_ci(reps: np.ndarray, level: float, bootstrap: int) -> tuple[float, float]:
    if bootstrap == 0 or np.isfinite(reps).sum() < 2:
        return np.nan, np.nan
    ci = percentile_ci(reps[:, None], level)[:, 0]
    return float(ci[0]), float(ci[1])


def _contrast_angle_ci(dd: np.ndarray, estimate: float, level: float) -> tuple[float, float]:
    """CI of an angular difference (radians in (-pi, pi]) on the estimate's branch, in degrees.

    Replicates are centred on their circular mean mu; the percentile interval of the centred
    values is placed at mu (no mod) and then moved by a whole turn when that brings mu closest
    to the estimate, so the interval surrounds the estimate and may pass +-180 degrees.
    (A candidate helper for ``stats._bootstrap``.)
    """
    mu = float(np.arctan2(np.mean(np.sin(dd)), np.mean(np.cos(dd))))
    q = percentile_ci(wrap_pi(dd - mu)[:, None], level)[:, 0]
    turn = 2.0 * np.pi * round((estimate - mu) / (2.0 * np.pi))
    lo, hi = mu + q[0] + turn, mu + q[1] + turn
    return math.degrees(lo), math.degrees(hi)
