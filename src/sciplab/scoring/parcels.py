"""Item parcels: instrument items -> a few parcel scores per scale, for latent-variable models.

A latent SCIP model (Mallinckrodt & Wei, 2005) measures each construct by three parcels (means of
disjoint item sets) rather than by its 6 to 25 items. :func:`build_parcels` forms them from raw
item responses with the **item-to-construct balance** rule of Little, Cunningham, Shahar &
Widaman (2002, p. 166):

1. the items of the scale are reverse-keyed by the one scoring engine
   (:func:`sciplab.scoring.engine.prepare_items`) and, for a scale with ``direction = "inverse"``
   (TAS-20 total measuring emotional awareness), reflected (``min + max - x``) so every parcel
   measures the construct in its positive direction;
2. each item's loading on a single factor is estimated by iterated principal-axis factoring of
   the pairwise-complete item correlation matrix (squared multiple correlations as the starting
   communalities, 100 iterations or until the communalities change by less than 1e-6);
3. items are ranked by loading (highest first, ties by item number); the ``k`` highest anchor
   parcels 1..k, the next ``k`` are added in inverted order (k..1), and so on (a serpentine
   deal), so parcels are balanced in how well they measure the construct;
4. a parcel is the mean of its answered items, missing when fewer than ``min_answered`` (default
   half) of its items are answered.

With ``k`` parcels and ``m`` items the parcels hold ``floor(m / k)`` or ``ceil(m / k)`` items. The
loadings, ranks and parcel of every item are in ``ParcelResult.table`` so the allocation can be
reported and reused (``allocation=``) in another sample.

References
----------
Little, T. D., Cunningham, W. A., Shahar, G., & Widaman, K. F. (2002). To parcel or not to
parcel: Exploring the question, weighing the merits. *Structural Equation Modeling, 9*, 151-173.
Mallinckrodt, B., & Wei, M. (2005). Attachment, social competencies, social support, and
psychological distress. *Journal of Counseling Psychology, 52*, 358-367.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, DataWarning, InvalidParameterError, suggest
from sciplab._core.results import Result, package_version
from sciplab._core.validation import require_frame
from sciplab.instruments.registry import get_instrument
from sciplab.instruments.schema import Instrument
from sciplab.scoring.engine import prepare_items

__all__ = ["ParcelResult", "balance_parcels", "build_parcels", "one_factor_loadings"]

RULE = "item-to-construct balance (Little et al., 2002)"


@dataclasses.dataclass(frozen=True)
class ParcelResult(Result):
    """Parcel scores and the item-to-parcel allocation.

    Attributes
    ----------
    table
        One row per item: ``name`` (the parcelled construct/scale), ``instrument``, ``scale``,
        ``item``, ``column``, ``loading`` (single-factor), ``rank``, ``parcel`` (indicator column).
    parcels
        The parcel scores, one column per parcel (``<name>_p1`` ...), same index as the data.
    details
        ``rule``, ``n_parcels``, ``min_answered``, per-name instrument and scale, version.
    """

    parcels: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    title: ClassVar[str] = "Item parcels"

    def summary(self) -> str:
        """One line per parcel: its items and mean loading."""
        lines = [self.title, "=" * len(self.title), f"Rule: {self.details['rule']}", ""]
        for parcels in self.indicators().values():
            for parcel in parcels:
                rows = self.table[self.table["parcel"] == parcel]
                items = ", ".join(str(i) for i in rows["item"])
                lines.append(f"{parcel:<28} items {items:<30} mean loading {rows['loading'].mean():.3f}")
        return "\n".join(lines)

    def indicators(self) -> dict[str, list[str]]:
        """``{name: [parcel columns]}`` in parcel order."""
        out: dict[str, list[str]] = {}
        for name, parcel in zip(self.table["name"], self.table["parcel"], strict=True):
            out.setdefault(str(name), [])
            if parcel not in out[name]:
                out[name].append(str(parcel))
        return {k: sorted(v, key=lambda p: int(p.rsplit("_p", 1)[1])) for k, v in out.items()}


def one_factor_loadings(X: np.ndarray, *, max_iter: int = 100, tol: float = 1e-6) -> np.ndarray:
    """Loadings of the columns of ``X`` on one factor (iterated principal-axis factoring).

    Pairwise-complete correlations; the sign is chosen so that the loadings sum to a positive
    number. Columns without variance get loading 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal(2000)
    >>> X = np.column_stack([w * f + rng.standard_normal(2000) for w in (2.0, 1.0, 0.5)])
    >>> np.round(one_factor_loadings(X), 1).tolist()
    [0.9, 0.7, 0.4]
    """
    frame = pd.DataFrame(X)
    R = frame.corr(min_periods=3).to_numpy()
    ok = np.isfinite(np.diag(R))
    out = np.zeros(X.shape[1])
    k = int(ok.sum())
    if k == 0:
        return out
    R = np.nan_to_num(R[np.ix_(ok, ok)], nan=0.0)
    if k == 1:
        out[ok] = 1.0
        return out
    try:
        h2 = 1.0 - 1.0 / np.diag(np.linalg.inv(R))
    except np.linalg.LinAlgError:
        h2 = np.max(np.abs(R - np.eye(k)), axis=1)
    h2 = np.clip(h2, 0.0, 1.0)
    lam = np.zeros(k)
    for _ in range(max_iter):
        Rr = R.copy()
        np.fill_diagonal(Rr, h2)
        values, vectors = np.linalg.eigh(Rr)
        lam = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        new = np.clip(lam**2, 0.0, 1.0)
        if np.max(np.abs(new - h2)) < tol:
            break
        h2 = new
    if lam.sum() < 0:
        lam = -lam
    out[ok] = lam
    return out


def balance_parcels(loadings: np.ndarray, n_parcels: int) -> np.ndarray:
    """Parcel index (0-based) of each item by the item-to-construct balance (serpentine) deal.

    Examples
    --------
    >>> balance_parcels(np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]), 3).tolist()
    [0, 1, 2, 2, 1, 0, 0]
    """
    m = len(loadings)
    order = np.lexsort((np.arange(m), -np.asarray(loadings, dtype=float)))  # highest first, ties by position
    out = np.empty(m, dtype=int)
    for rank, item in enumerate(order):
        block, pos = divmod(rank, n_parcels)
        out[item] = pos if block % 2 == 0 else n_parcels - 1 - pos
    return out


def _resolve(spec: Any, instruments_dir: str | None) -> tuple[Instrument, str]:
    if isinstance(spec, tuple) and len(spec) == 2:
        inst, scale = spec
    elif isinstance(spec, str) and ":" in spec:
        inst, scale = spec.split(":", 1)
    else:
        raise InvalidParameterError(
            f"a parcelled scale is 'INSTRUMENT:scale' (e.g. 'ECR-S:anxiety') or (instrument, scale), got {spec!r}"
        )
    if not isinstance(inst, Instrument):
        inst = get_instrument(str(inst).strip(), instruments_dir=instruments_dir)
    return inst, inst.scale(str(scale).strip()).name


def build_parcels(
    data: pd.DataFrame,
    scales: Mapping[str, Any],
    *,
    n_parcels: int = 3,
    min_answered: float = 0.5,
    allocation: pd.DataFrame | None = None,
    on_invalid: str = "error",
    instruments_dir: str | None = None,
) -> ParcelResult:
    """Form ``n_parcels`` item parcels for each named scale by item-to-construct balance.

    Parameters
    ----------
    data
        Raw item responses (column names as for :func:`sciplab.score`).
    scales
        ``{name: "INSTRUMENT:scale"}`` (or ``(Instrument, scale)``): parcels of that scale's items
        are named ``<name>_p1`` ... ``<name>_p<k>``; e.g. ``{"attachment_anxiety": "ECR-S:anxiety"}``.
    n_parcels
        Parcels per scale (at least 1; a scale needs at least that many items).
    min_answered
        Smallest proportion of a parcel's items that must be answered for a parcel score.
    allocation
        A previous ``ParcelResult.table`` to reuse (same items to the same parcels, e.g. in a
        second sample or for every group of a multigroup model); loadings are then not estimated.
    on_invalid
        ``"error"`` or ``"missing"`` for out-of-range responses (as :func:`sciplab.score`).
    instruments_dir
        Folder of user instrument definitions.

    Returns
    -------
    ParcelResult
        ``.parcels`` (scores), ``.table`` (item allocation with loadings), ``.details``.

    Notes
    -----
    The rule is described in the module docstring (Little et al., 2002, item-to-construct
    balance). The loadings come from the data given; pass ``allocation`` to keep an allocation
    fixed across samples.

    Examples
    --------
    >>> from sciplab.datasets import load_example
    >>> res = build_parcels(load_example(), {"attachment_anxiety": "ECR-S:anxiety"})
    >>> list(res.parcels.columns)
    ['attachment_anxiety_p1', 'attachment_anxiety_p2', 'attachment_anxiety_p3']
    >>> res.table.groupby("parcel").size().tolist()
    [2, 2, 2]
    """
    require_frame(data)
    if isinstance(n_parcels, bool) or not isinstance(n_parcels, int | np.integer) or n_parcels < 1:
        raise InvalidParameterError(f"n_parcels must be a whole number >= 1, got {n_parcels!r}")
    if not (0.0 < float(min_answered) <= 1.0):
        raise InvalidParameterError(f"min_answered must be a proportion in (0, 1], got {min_answered!r}")
    if on_invalid not in ("error", "missing"):
        raise InvalidParameterError(f"on_invalid must be 'error' or 'missing', got {on_invalid!r}")
    if not scales:
        raise InvalidParameterError("scales is empty: give {name: 'INSTRUMENT:scale'}")
    fixed = None
    if allocation is not None:
        need = {"name", "item", "parcel"}
        if not need <= set(allocation.columns):
            raise InvalidParameterError(f"allocation must be a ParcelResult.table (columns {sorted(need)})")
        fixed = allocation
    rows: list[dict[str, Any]] = []
    columns: dict[str, pd.Series] = {}
    info: dict[str, dict[str, Any]] = {}
    for name, spec in scales.items():
        inst, scale_name = _resolve(spec, instruments_dir)
        scale = inst.scale(scale_name)
        if scale.n_items < n_parcels:
            raise DataError(
                f"{inst.id} {scale.name} has {scale.n_items} items: too few for {n_parcels} parcels; "
                f"use n_parcels <= {scale.n_items}"
            )
        prep = prepare_items(data, inst, [scale], on_invalid=on_invalid)  # type: ignore[arg-type]
        pos = [prep.items.index(i) for i in scale.items]
        X = prep.X[:, pos]
        if scale.direction == "inverse":
            X = (inst.response.min + inst.response.max) - X
        if fixed is not None:
            mine = fixed[fixed["name"] == name]
            lookup = {int(i): str(p) for i, p in zip(mine["item"], mine["parcel"], strict=True)}
            absent = [i for i in scale.items if i not in lookup]
            if absent:
                known = sorted(set(map(str, fixed["name"])))
                raise DataError(
                    f"allocation has no parcel for {name!r} item(s) {absent[:5]}{suggest(str(name), known)}"
                )
            parcel_names = [lookup[i] for i in scale.items]
            loadings = (
                mine.set_index("item").loc[list(scale.items), "loading"].to_numpy(dtype=float)
                if "loading" in mine
                else np.full(len(pos), np.nan)
            )
        else:
            loadings = one_factor_loadings(X)
            weak = [i for i, lam in zip(scale.items, loadings, strict=True) if lam < 0.1]
            if weak:
                warnings.warn(
                    f"{inst.id} {scale.name}: item(s) {weak} load below .10 on the scale's single factor; "
                    "check the reverse keys and the data before parcelling",
                    DataWarning,
                    stacklevel=2,
                )
            parcel_names = [f"{name}_p{j + 1}" for j in balance_parcels(loadings, n_parcels)]
        order = np.lexsort((np.arange(len(loadings)), -np.nan_to_num(loadings, nan=-np.inf)))
        rank = np.empty(len(loadings), dtype=int)
        rank[order] = np.arange(1, len(loadings) + 1)
        for j, item in enumerate(scale.items):
            rows.append(
                {"name": name, "instrument": inst.id, "scale": scale.name, "item": int(item),
                 "column": prep.mapping[item], "loading": float(loadings[j]), "rank": int(rank[j]),
                 "parcel": parcel_names[j]}
            )  # fmt: skip
        for parcel in sorted(set(parcel_names), key=lambda p: int(p.rsplit("_p", 1)[1])):
            idx = [j for j, p in enumerate(parcel_names) if p == parcel]
            block = X[:, idx]
            answered = np.sum(~np.isnan(block), axis=1)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(block, axis=1)
            mean[answered < np.ceil(min_answered * len(idx) - 1e-9)] = np.nan
            columns[parcel] = pd.Series(mean, index=data.index, name=parcel)
        info[str(name)] = {"instrument": inst.id, "scale": scale.name, "direction": scale.direction}
    table = pd.DataFrame(rows, columns=["name", "instrument", "scale", "item", "column", "loading", "rank", "parcel"])
    details = {
        "rule": RULE if fixed is None else "given allocation",
        "n_parcels": int(n_parcels),
        "min_answered": float(min_answered),
        "scales": info,
        "n": len(data),
        "version": package_version(),
    }
    return ParcelResult(table=table, details=details, parcels=pd.DataFrame(columns, index=data.index))
