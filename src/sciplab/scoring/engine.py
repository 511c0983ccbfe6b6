"""The one scoring engine: item responses -> scale scores, validity report and norm conversions.

Steps, all vectorised over respondents (one NumPy pass per instrument, no row loop):

1. match item columns (:mod:`sciplab.scoring.columns`);
2. coerce to numbers and check every response against the response scale (integers from ``min``
   to ``max``); with ``on_invalid="error"`` every offending cell is reported (row, column, item,
   value, allowed range; the first 20 and a count), with ``"missing"`` they become missing and the
   validity report says so;
3. reverse-key: ``min + max - x`` (``docs/instrument-format.md``, response scale);
4. per scale, apply the missing-data rule: a score needs at least ``min_answered`` answered items;
   an incomplete sum is prorated (mean of the answered items x number of items) and flagged;
   a mean is the mean of the answered items; ``multiplier`` rescales (CORE-OM clinical score);
5. optionally convert to z, T (50 + 10 z) and normal-theory percentiles against a named norm.

The input DataFrame is never modified; output keeps its index.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import require_frame
from sciplab.instruments.registry import get_instrument, require_key
from sciplab.instruments.schema import Instrument, Norm, Scale
from sciplab.scoring.columns import match_columns

OnInvalid = Literal["error", "missing"]
STATUS_CODES = ("complete", "prorated", "too_few_items")
MAX_LISTED = 20


@dataclasses.dataclass(frozen=True)
class ScoreResult(Result):
    """Scale scores of one (or several) instruments.

    Attributes
    ----------
    scores
        One column per scale, ``<ID>_<scale>`` (plus ``_z``, ``_T``, ``_pct`` with a norm), same
        index as the input.
    validity
        Per row and scale: ``<col>_answered``, ``<col>_status`` (complete / prorated /
        too_few_items) and, with ``on_invalid="missing"``, ``<ID>_invalid`` (count of responses set
        missing) and ``<ID>_invalid_items``.
    flags
        Critical-item flags (e.g. ``PHQ-9_self_harm``), boolean per row.
    bands
        Interpretive band label per row for scales with published bands.
    table
        One row per scale: column, construct, scoring, n valid / prorated / missing, mean, SD,
        min, max (descriptive summary of the scores).
    """

    scores: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    validity: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    flags: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    bands: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    title: ClassVar[str] = "Scale scores"

    def summary(self) -> str:
        """Scale table plus notes on key status, missing-data rules and invalid responses."""
        cols = ["column", "scoring", "n_valid", "n_prorated", "n_missing", "mean", "sd", "min", "max"]
        lines = [self.title, "=" * len(self.title)]
        lines.append(self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        for inst in self.details["instruments"]:
            lines.append("")
            lines.append(f"{inst['id']} ({inst['name']}): key {inst['key_status']}")
            for note in inst.get("notes", []):
                lines.append(f"  note: {note}")
        for fname in self.flags.columns:
            count = int(self.flags[fname].sum())
            if count:
                lines.append(f"FLAG {fname}: {count} respondent(s)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``{"table", "scores", "validity", "flags", "bands", "details"}``."""
        out = super().to_dict()
        for name in ("scores", "validity", "flags", "bands"):
            frame = getattr(self, name)
            out[name] = Result(frame.reset_index(names="row"), {}).to_dict()["table"] if len(frame.columns) else []
        return out

    def _repr_html_(self) -> str:
        notes = "".join(
            f"<li>{html.escape(i['id'])}: key {html.escape(i['key_status'])}</li>" for i in self.details["instruments"]
        )
        return super()._repr_html_() + f"<ul>{notes}</ul>"


def _where(data: pd.DataFrame) -> str:
    src = data.attrs.get("source")
    return f"{src}: " if src else ""


def _refuse_complex(data: pd.DataFrame, cols: list[str]) -> None:
    """Complex responses would be cut to their real part by ``astype(float)``: refuse them by cell."""
    for col in cols:
        s = data[col]
        if pd.api.types.is_complex_dtype(s.dtype):
            values = s.to_numpy()
        elif s.dtype == object:
            values = np.array([v if isinstance(v, complex | np.complexfloating) else 0j for v in s], dtype=complex)
        else:
            continue
        nonreal = np.flatnonzero(np.imag(values) != 0)
        if nonreal.size:
            r = int(nonreal[0])
            value = values[r].item() if isinstance(values[r], np.generic) else values[r]
            raise DataError(
                f"{_where(data)}column {col!r}, row {r + 1} (index {data.index[r]!r}): {value!r} is not a real "
                f"number ({nonreal.size} such value(s) in the column); item responses must be real numbers"
            )


def _numeric_matrix(data: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, bad)``: float matrix and a mask of non-missing cells that are not numbers."""
    frame = data[cols]
    _refuse_complex(data, cols)
    plain = (
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) and not pd.api.types.is_complex_dtype(t)
        for t in frame.dtypes
    )
    if all(plain):
        # copy=True: X is reverse-keyed in place later; a view would be read-only or alias the input
        X = frame.to_numpy(dtype=float, na_value=np.nan, copy=True)
        return X, np.zeros(X.shape, dtype=bool)
    X = np.empty(frame.shape, dtype=float)
    bad = np.zeros(frame.shape, dtype=bool)
    for j, col in enumerate(cols):
        s = frame[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            X[:, j] = np.nan
            bad[:, j] = s.notna().to_numpy()
            continue
        if pd.api.types.is_complex_dtype(s.dtype):  # all imaginary parts are 0 (_refuse_complex)
            X[:, j] = np.real(s.to_numpy())
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            X[:, j] = s.to_numpy(dtype=float, na_value=np.nan)
            continue
        stripped = s.astype("string").str.strip()
        blank = stripped.isna() | (stripped == "")
        num = pd.to_numeric(stripped.mask(blank), errors="coerce")
        X[:, j] = num.to_numpy(dtype=float, na_value=np.nan)
        bad[:, j] = (~blank & num.isna()).to_numpy()
    return X, bad


def _describe_invalid(
    data: pd.DataFrame,
    rows: np.ndarray,
    cols: np.ndarray,
    colnames: list[str],
    items: list[int],
    instrument: Instrument,
) -> list[str]:
    lo, hi = instrument.response.min, instrument.response.max
    out = []
    for r, c in zip(rows[:MAX_LISTED], cols[:MAX_LISTED], strict=True):
        value = data[colnames[c]].iloc[r]
        if isinstance(value, np.generic):  # show 2.5, not np.float64(2.5)
            value = value.item()
        label = data.index[r]
        out.append(
            f"row {r + 1} (index {label!r}), column {colnames[c]!r} (item {items[c]}): {value!r}, "
            f"expected an integer from {lo} to {hi}"
        )
    return out


@dataclasses.dataclass(frozen=True)
class PreparedItems:
    """Validated item responses (rows x items, NaN = missing): ``X`` reverse-keyed; :meth:`raw` as answered."""

    X: np.ndarray
    items: list[int]
    mapping: dict[int, str]
    invalid: np.ndarray
    #: columns of ``X`` that were reverse-keyed (``lo + hi - x``) and ``lo + hi``
    reversed_cols: tuple[int, ...] = ()
    reverse_sum: float = 0.0

    def raw(self, cols: Sequence[int]) -> np.ndarray:
        """Responses as answered (not reverse-keyed) in columns ``cols`` of ``X``.

        Only the requested columns are un-keyed (a copy of the whole matrix would cost as much as
        scoring it); exact, because valid responses are whole numbers.
        """
        values = self.X[:, list(cols)]
        flip = np.isin(list(cols), self.reversed_cols)
        if flip.any():
            values[:, flip] = self.reverse_sum - values[:, flip]
        return values


def prepare_items(
    data: pd.DataFrame,
    inst: Instrument,
    chosen: Sequence[Scale],
    *,
    columns: Mapping[int | str, str] | Sequence[str] | None = None,
    on_invalid: OnInvalid = "error",
) -> PreparedItems:
    """Match, coerce, range-check and reverse-key the items of ``chosen`` scales.

    Shared by :func:`score` and :func:`sciplab.scoring.reliability.reliability`, so both see
    exactly the same responses.
    """
    where = _where(data)
    needed = sorted({i for s in chosen for i in s.items}, key=inst.item_numbers.index)
    mapping = match_columns(data, inst, columns, needed)
    items = list(mapping)
    colnames = [mapping[i] for i in items]
    X, bad = _numeric_matrix(data, colnames)
    lo, hi = inst.response.min, inst.response.max
    with np.errstate(invalid="ignore"):
        invalid = bad | (~np.isnan(X) & ((X < lo) | (X > hi) | (X != np.floor(X))))
    n_invalid = int(invalid.sum())
    if n_invalid and on_invalid == "error":
        rows, cols = np.nonzero(invalid)
        listed = _describe_invalid(data, rows, cols, colnames, items, inst)
        more = f"\n  ... and {n_invalid - len(listed)} more" if n_invalid > len(listed) else ""
        raise DataError(
            f"{where}{inst.id}: {n_invalid} invalid response(s) in {len(np.unique(rows))} row(s):\n  "
            + "\n  ".join(listed)
            + more
            + "\nFix the data, or pass on_invalid='missing' (--on-invalid missing) to treat them "
            "as missing."
        )
    if n_invalid:
        X[invalid] = np.nan
    reverse = set(inst.key.reverse if inst.key else ())
    rev_cols = [j for j, i in enumerate(items) if i in reverse]
    if rev_cols:  # in place: X is this function's own copy of the data
        X[:, rev_cols] = (lo + hi) - X[:, rev_cols]
    return PreparedItems(X=X, items=items, mapping=mapping, invalid=invalid, reversed_cols=tuple(rev_cols),
                         reverse_sum=float(lo + hi))  # fmt: skip


def _resolve_min_answered(scale: Scale, override: int | float | Mapping[str, int | float] | None) -> tuple[int, str]:
    k = scale.n_items
    value: int | float | None
    if override is None:
        return scale.missing.min_answered, scale.missing.source
    if isinstance(override, Mapping):
        lowered = {str(a).lower(): v for a, v in override.items()}
        value = lowered.get(scale.name.lower())
        if value is None:
            return scale.missing.min_answered, scale.missing.source
    else:
        value = override
    allowed = f"a whole number of items from 1 to {k} or a proportion in (0, 1]"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidParameterError(f"min_answered for scale {scale.name!r} must be {allowed}, got {value!r}")
    if not np.isfinite(value):
        raise InvalidParameterError(f"min_answered for scale {scale.name!r} must be {allowed}, got {value!r}")
    if isinstance(value, float | np.floating) and 0 < value <= 1:  # floats in (0, 1] are proportions (1.0 = every item)
        n = int(np.ceil(value * k - 1e-9))
        return max(1, n), f"user-supplied: at least {value:.0%} of {k} items ({n})"
    if value != int(value):
        raise InvalidParameterError(f"min_answered for scale {scale.name!r} must be {allowed}, got {value!r}")
    n = int(value)
    if not 1 <= n <= k:
        raise InvalidParameterError(
            f"min_answered for scale {scale.name!r} must be between 1 and its {k} items "
            f"(or a proportion in (0, 1]), got {value!r}"
        )
    return n, f"user-supplied: at least {n} of {k} items"


def norm_on_score_metric(norm: Norm, scale: Scale, scale_name: str) -> tuple[float, float] | None:
    """Norm mean and SD of ``scale`` converted to the metric of its score, or ``None``."""
    values = norm.scales.get(scale_name)
    if values is None:
        return None
    mean, sd = values.mean, values.sd
    k = scale.n_items
    if norm.metric == "item_sum" and scale.scoring == "mean":
        mean, sd = mean / k, sd / k
    elif norm.metric == "item_mean" and scale.scoring == "sum":
        mean, sd = mean * k, sd * k
    if norm.metric != "score":
        mean, sd = mean * scale.multiplier, sd * scale.multiplier
    return mean, sd


CHUNK_ROWS = 4096
"""Rows per block of the fast scoring route: a block of items stays in the CPU cache while it is
checked and summed, whatever the frame's memory layout (column blocks or one row-major block)."""


def _plain_column(s: pd.Series) -> np.ndarray | None:
    """The values of a plain numeric item column (a view when possible), else ``None``.

    numpy integer and float columns are used as they are (no copy); other real numeric columns
    (nullable integers, extension floats) become float64 with NaN for missing. Booleans, complex
    numbers and text go through the general coercion of :func:`prepare_items` (with its messages).
    """
    dtype = s.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_complex_dtype(dtype):
        return None
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        return s.to_numpy()
    return s.to_numpy(dtype=float, na_value=np.nan)


def _scale_sums(
    data: pd.DataFrame, inst: Instrument, chosen: Sequence[Scale], mapping: Mapping[int, str]
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Per chosen scale, ``(answered, keyed total)`` computed block by block, or ``None``.

    The fast route of :func:`score` (issue 19): the item columns are read in blocks of
    :data:`CHUNK_ROWS` rows, checked (numbers, integers, within the response scale) and summed per
    scale while the block is in cache; no rows x items copy is made, so memory stays a fraction of
    the input's size. Returns ``None`` (the caller then takes the general route,
    :func:`prepare_items`, with identical results and the full error report) when a column is not
    plain numeric or any response is outside the response scale.

    Reverse keying is folded into the sums: a scale's keyed total is ``sum(forward items) +
    n_reversed_answered * (min + max) - sum(reversed items)``. Responses are integers (checked), so
    every sum is exact and equals the general route's bit for bit.
    """
    lo, hi = inst.response.min, inst.response.max
    reverse = set(inst.key.reverse if inst.key else ())
    n = data.shape[0]
    needed = sorted({i for sc in chosen for i in sc.items})
    pos = {item: j for j, item in enumerate(needed)}
    columns = []
    for item in needed:
        col = _plain_column(data[mapping[item]])
        if col is None:
            return None
        columns.append(col)
    can_miss = any(col.dtype.kind == "f" for col in columns)
    # +1 / -1 per (item, scale): keyed total = B @ sign + (reversed answered) * (min + max)
    sign = np.zeros((len(columns), len(chosen)))
    rev = np.zeros((len(columns), len(chosen)))
    member = np.zeros((len(columns), len(chosen)))
    for s, sc in enumerate(chosen):
        for i in sc.items:
            sign[pos[i], s] += -1.0 if i in reverse else 1.0
            rev[pos[i], s] += 1.0 if i in reverse else 0.0
            member[pos[i], s] += 1.0
    totals = np.empty((n, len(chosen)))
    answered = np.empty((n, len(chosen)))
    block = np.empty((len(columns), min(n, CHUNK_ROWS))).T  # column-major: each item contiguous
    for r0 in range(0, n, CHUNK_ROWS):
        r1 = min(n, r0 + CHUNK_ROWS)
        B = block[: r1 - r0]
        for j, col in enumerate(columns):
            B[:, j] = col[r0:r1]
        missing = np.isnan(B) if can_miss else None
        if missing is not None and missing.any():
            np.copyto(B, lo, where=missing)  # a valid value, so that one check covers the block
        else:
            missing = None
        if B.min() < lo or B.max() > hi or (np.floor(B) != B).any():
            return None
        if missing is None:
            np.matmul(B, sign, out=totals[r0:r1])
            answered[r0:r1] = member.sum(axis=0)
            totals[r0:r1] += (lo + hi) * rev.sum(axis=0)
            continue
        np.copyto(B, 0.0, where=missing)
        P = 1.0 - missing
        np.matmul(B, sign, out=totals[r0:r1])
        np.matmul(P, member, out=answered[r0:r1])
        totals[r0:r1] += (lo + hi) * (P @ rev)
    return [(answered[:, s].astype(np.int64), totals[:, s].copy()) for s in range(len(chosen))]


def score(
    data: pd.DataFrame,
    instrument: str | Instrument,
    *,
    columns: Mapping[int | str, str] | Sequence[str] | None = None,
    on_invalid: OnInvalid = "error",
    rule: Literal["sum", "mean"] | None = None,
    min_answered: int | float | Mapping[str, int | float] | None = None,
    norm: str | None = None,
    scales: Sequence[str] | None = None,
    instruments_dir: str | None = None,
    key_file: str | None = None,
) -> ScoreResult:
    """Score item responses of one instrument.

    Parameters
    ----------
    data
        One row per respondent, item responses in columns (default naming ``<ID>_01`` ...,
        case-insensitive, also ``ecr1``; see :func:`sciplab.scoring.columns.match_columns`).
    instrument
        Instrument id or alias (``"ECR-S"``, ``"phq9"``) or an :class:`Instrument`.
    columns
        Explicit ``{item number: column}`` mapping, or a list of columns in item order.
    on_invalid
        ``"error"`` (default): raise :class:`DataError` listing every out-of-range or non-numeric
        response (row, column, item, value, allowed range; first 20 and a count). ``"missing"``:
        treat them as missing and report them in ``validity``.
    rule
        Override the scoring rule of every scale (``"sum"`` or ``"mean"``); for instruments used
        both ways (SPS, PSSE, WAI-SR). Default: each scale's own rule.
    min_answered
        Override the missing-data rule: a number of items, a proportion in (0, 1) (e.g. ``0.8``),
        or a ``{scale: value}`` mapping. Recorded in ``details``. Default: the definition's rule
        (for most instruments every item must be answered because no rule is published).
    norm
        Id of a norm sample in the definition; adds ``_z``, ``_T`` and ``_pct`` columns.
    scales
        Score only these scales (default: all).
    instruments_dir, key_file
        User definitions folder; a key file for structure-only instruments (CATS, TDS, SEQ).

    Returns
    -------
    ScoreResult
        ``.scores``, ``.validity``, ``.flags``, ``.bands``, ``.table`` and ``.details``.

    Raises
    ------
    DataError
        Missing or duplicated item columns, invalid responses with ``on_invalid="error"``, no rows.
    KeyNotVerifiedError
        The instrument ships without a verified key and no ``key_file`` was given.

    Notes
    -----
    Reverse keying: ``min + max - x``. Incomplete sums: ``mean(answered) * k`` (prorated, flagged).
    z = (score - M) / SD, T = 50 + 10 z, percentile = 100 * Phi(z) (normal approximation).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({f"PHQ9_{i}": [1, 0] for i in range(1, 10)})
    >>> score(df, "PHQ-9").scores["PHQ-9_total"].tolist()
    [9.0, 0.0]
    """
    require_frame(data)
    where = _where(data)
    if data.shape[0] == 0:
        raise DataError(f"{where}the data have no rows to score")
    if on_invalid not in ("error", "missing"):
        raise InvalidParameterError(f"on_invalid must be 'error' or 'missing', got {on_invalid!r}")
    if rule is not None and rule not in ("sum", "mean"):
        raise InvalidParameterError(f"rule must be 'sum', 'mean' or None, got {rule!r}")
    inst = require_key(get_instrument(instrument, instruments_dir=instruments_dir, key_file=key_file))
    chosen = list(inst.scales)
    if scales is not None:
        chosen = [inst.scale(s) for s in scales]
    if isinstance(min_answered, Mapping):
        known = {s.name.lower() for s in inst.scales}
        unknown = [str(a) for a in min_answered if str(a).lower() not in known]
        if unknown:
            raise InvalidParameterError(
                f"min_answered names scale(s) {', '.join(map(repr, unknown))} that {inst.id} does not have; "
                f"scales: {', '.join(s.name for s in inst.scales)}"
            )
    needed = sorted({i for s in chosen for i in s.items}, key=inst.item_numbers.index)
    mapping = match_columns(data, inst, columns, needed)
    sums = _scale_sums(data, inst, chosen, mapping)
    prepared: PreparedItems | None = None
    invalid: np.ndarray | None = None
    if sums is None:  # text, booleans or invalid responses: the general route and its report
        prepared = prepare_items(data, inst, chosen, columns=columns, on_invalid=on_invalid)
        X, mapping, invalid = prepared.X, prepared.mapping, prepared.invalid
        col_of = {i: j for j, i in enumerate(prepared.items)}
        present = ~np.isnan(X)
        Xz = np.where(present, X, 0.0)
        sums = []
        for sc in chosen:
            idx = [col_of[i] for i in sc.items]
            sums.append((present[:, idx].sum(axis=1), Xz[:, idx].sum(axis=1)))
    items = list(mapping)
    n_invalid = int(invalid.sum()) if invalid is not None else 0
    reverse = set(inst.key.reverse if inst.key else ())

    score_cols: dict[str, np.ndarray] = {}
    validity: dict[str, Any] = {}
    table_rows = []
    rules_used = {}
    for sc, (answered, total) in zip(chosen, sums, strict=True):
        k = len(sc.items)
        need, why = _resolve_min_answered(sc, min_answered)
        srule = rule or sc.scoring
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / answered
        value = (mean * k if srule == "sum" else mean) * sc.multiplier
        ok = answered >= need
        value = np.where(ok, value, np.nan)
        col = inst.column(sc.name)
        score_cols[col] = value
        status = np.where(~ok, 2, np.where(answered < k, 1, 0)).astype(np.int8)
        validity[f"{col}_answered"] = answered.astype(np.int16 if k < 30000 else np.int32)
        validity[f"{col}_status"] = pd.Categorical.from_codes(status, categories=list(STATUS_CODES))
        n_valid = int(ok.sum())
        finite = value[ok]
        table_rows.append(
            {
                "instrument": inst.id,
                "scale": sc.name,
                "column": col,
                "label": sc.label,
                "construct": sc.construct,
                "direction": sc.direction,
                "scoring": srule,
                "n_items": k,
                "n_valid": n_valid,
                "n_prorated": int((status == 1).sum()),
                "n_missing": int((status == 2).sum()),
                "mean": float(finite.mean()) if n_valid else np.nan,
                "sd": float(finite.std(ddof=1)) if n_valid > 1 else np.nan,
                "min": float(finite.min()) if n_valid else np.nan,
                "max": float(finite.max()) if n_valid else np.nan,
            }
        )
        rules_used[sc.name] = {
            "scoring": srule,
            "min_answered": need,
            "of_items": k,
            "multiplier": sc.multiplier,
            "rule_source": why,
        }

    if n_invalid and invalid is not None:
        per_row = invalid.sum(axis=1)
        validity[f"{inst.id}_invalid"] = per_row.astype(np.int32)
        labels = np.full(X.shape[0], "", dtype=object)
        for r in np.flatnonzero(per_row):
            labels[r] = ",".join(str(items[c]) for c in np.flatnonzero(invalid[r]))
        validity[f"{inst.id}_invalid_items"] = labels

    index = data.index
    scores_df = pd.DataFrame(score_cols, index=index)
    notes = _key_notes(inst)
    norm_info = None
    if norm is not None:
        nrm = inst.norm(norm)
        converted = {}
        for sc in chosen:
            # convert the norm to the metric actually scored (a rule= override changes it)
            ms = norm_on_score_metric(
                nrm, dataclasses.replace(sc, scoring=str(rules_used[sc.name]["scoring"])), sc.name
            )
            if ms is None:
                continue
            col = inst.column(sc.name)
            z = (scores_df[col].to_numpy() - ms[0]) / ms[1]
            scores_df[f"{col}_z"] = z
            scores_df[f"{col}_T"] = 50 + 10 * z
            from scipy.special import ndtr  # only when norms are asked for (start-up cost)

            scores_df[f"{col}_pct"] = 100 * ndtr(z)
            converted[sc.name] = {"mean": ms[0], "sd": ms[1]}
        skipped = [sc.name for sc in chosen if sc.name not in converted]
        norm_info = {
            "id": nrm.id,
            "sample": nrm.sample,
            "n": nrm.n,
            "population": nrm.population,
            "source": nrm.source,
            "status": nrm.status,
            "metric": nrm.metric,
            "on_score_metric": converted,
            "scales_without_norm": skipped,
            "percentile": "normal approximation: 100 * Phi(z)",
        }
        if nrm.status == "single-source":
            notes.append(f"norm {nrm.id!r} is SINGLE-SOURCE ({nrm.source})")

    flags = pd.DataFrame(index=index)
    for fl in inst.flags:
        flag_items = [i for i in fl.items if i in mapping]
        if not flag_items:
            continue
        # flags refer to responses as answered, not reverse-keyed
        if prepared is not None:
            raw = prepared.raw([prepared.items.index(i) for i in flag_items])
        else:
            raw = np.column_stack([data[mapping[i]].to_numpy(dtype=float, na_value=np.nan) for i in flag_items])
        flags[f"{inst.id}_{fl.name}"] = np.nan_to_num(raw, nan=-np.inf).max(axis=1) > fl.above

    bands = pd.DataFrame(index=index)
    for cut in inst.cutoffs:
        if not cut.bands or cut.applies_to or cut.scale not in {s.name for s in chosen}:
            continue
        if rules_used[cut.scale]["scoring"] != inst.scale(cut.scale).scoring:
            continue  # bands are defined on the definition's metric, not on a rule= override
        col = inst.column(cut.scale)
        vals = scores_df[col].to_numpy()
        # Bands are read as consecutive intervals [min_i, min_{i+1}), so prorated (fractional)
        # scores between integer-defined bands fall in the lower band instead of in a gap.
        ordered = sorted(cut.bands, key=lambda b: b.min)
        mins = np.array([b.min for b in ordered])
        pos = np.searchsorted(mins, np.nan_to_num(vals, nan=-np.inf), side="right") - 1
        inside = (pos >= 0) & (vals <= max(b.max for b in ordered)) & ~np.isnan(vals)
        codes = np.where(inside, pos, -1)
        # a second band set for the same scale (K10: ABS and clinical bands) gets its own column
        name, n = f"{col}_band", 2
        while name in bands.columns:
            name, n = f"{col}_band{n}", n + 1
        bands[name] = pd.Categorical.from_codes(codes, categories=[b.label for b in ordered])

    details = {
        "instruments": [
            {
                "id": inst.id,
                "name": inst.name,
                "citation": inst.citation,
                "key_status": inst.status,
                "key_sources": list(inst.key.sources if inst.key else ()),
                "notes": notes,
                "definition": inst.path,
                "columns": {str(i): c for i, c in mapping.items()},
                "reverse_keyed_items": sorted(reverse & set(items)),
                "scales": rules_used,
                "norm": norm_info,
            }
        ],
        "n_rows": int(data.shape[0]),
        "on_invalid": on_invalid,
        "n_invalid_responses": n_invalid,
        "source": data.attrs.get("source"),
        "version": package_version(),
    }
    return ScoreResult(
        table=pd.DataFrame(table_rows),
        details=details,
        scores=scores_df,
        validity=pd.DataFrame(validity, index=index),
        flags=flags,
        bands=bands,
    )


def _key_notes(inst: Instrument) -> list[str]:
    notes = []
    if inst.status == "single-source":
        extra = f" {inst.key.note}" if inst.key and inst.key.note else ""
        notes.append(
            "scoring key is SINGLE-SOURCE (one non-authoritative source: "
            f"{'; '.join(inst.key.sources) if inst.key else ''}); confirm against the original "
            f"publication before relying on it.{extra}"
        )
    return notes


def score_all(data: pd.DataFrame, instruments: Sequence[str | Instrument], **kwargs: Any) -> ScoreResult:
    """Score several instruments on the same data and combine the results column-wise.

    ``columns`` (a mapping) is not accepted here: map items per instrument with :func:`score`.
    """
    if "columns" in kwargs:
        raise InvalidParameterError("score_all does not take columns=; call score() per instrument")
    if not instruments:
        raise InvalidParameterError("give at least one instrument")
    seen = set()
    parts = []
    for ins in instruments:
        key = str(ins.id if isinstance(ins, Instrument) else ins).lower()
        if key in seen:
            raise InvalidParameterError(f"instrument {ins!r} is listed twice")
        seen.add(key)
        parts.append(score(data, ins, **kwargs))
    first = parts[0]
    details = dict(first.details)
    details["instruments"] = [d for p in parts for d in p.details["instruments"]]
    details["n_invalid_responses"] = sum(p.details["n_invalid_responses"] for p in parts)
    return ScoreResult(
        table=pd.concat([p.table for p in parts], ignore_index=True),
        details=details,
        scores=pd.concat([p.scores for p in parts], axis=1),
        validity=pd.concat([p.validity for p in parts], axis=1),
        flags=pd.concat([p.flags for p in parts], axis=1),
        bands=pd.concat([p.bands for p in parts], axis=1),
    )


__all__ = ["PreparedItems", "ScoreResult", "norm_on_score_metric", "prepare_items", "score", "score_all"]
