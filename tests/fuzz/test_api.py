"""The public API with hostile arguments: anything raised is a ``sciplab.SciplabError`` (issue 11).

Warnings are allowed (they are how an analysis reports doubtful input); exceptions other than the
project's own are not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

import sciplab
from sciplab.scip.templates import fit_template
from sciplab.stats.syntax import parse_expression, parse_model

from . import harness as h

PHQ = [f"PHQ9_{i:02d}" for i in range(1, 10)]

any_value = st.sampled_from(
    [None, np.nan, np.inf, -np.inf, -1, 0, 1, 2, 0.5, 10**20, 1e300, "x", "", "[/x]", "$\\foo{$", [], {}, True, "a"]
)
number_cells = st.one_of(
    st.integers(-3, 8), st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300]), st.floats(-10, 10)
)


@st.composite
def frames(draw, columns: list[str], min_rows: int = 0, max_rows: int = 12) -> pd.DataFrame:
    cols = draw(st.lists(st.sampled_from([*columns, *h.NASTY_TEXT[:6]]), min_size=1, max_size=len(columns) + 2))
    if draw(st.integers(0, 3)) > 0:
        cols = list(dict.fromkeys([*columns, *cols]))  # usually every expected column, sometimes duplicates
    n = draw(st.integers(min_rows, max_rows))
    values = draw(st.lists(st.lists(number_cells, min_size=len(cols), max_size=len(cols)), min_size=n, max_size=n))
    frame = pd.DataFrame(values, columns=cols) if n else pd.DataFrame(columns=cols)
    if draw(st.integers(0, 4)) == 0 and len(frame):
        frame = frame.astype(object)
        frame.iat[0, 0] = draw(st.sampled_from(["x", "[/x]", None, "1,5"]))
    return frame


@given(
    data=frames(PHQ),
    instrument=st.sampled_from(["PHQ-9", "phq9", "[red]PHQ[/red]", "", "CATS", "nope"]),
    min_answered=any_value,
    norm=any_value,
    on_invalid=st.sampled_from(["error", "missing", "x", None]),
)
@example(data=pd.DataFrame([[1] * 9], columns=PHQ), instrument="PHQ-9", min_answered=np.nan, norm=None,
         on_invalid="error")  # fmt: skip
@h.fuzz_settings(30)
def test_score(data, instrument, min_answered, norm, on_invalid):
    h.call_api(sciplab.score, data, instrument, min_answered=min_answered, norm=norm, on_invalid=on_invalid)


@given(data=frames(PHQ, min_rows=2), level=any_value)
@h.fuzz_settings(30)
def test_reliability(data, level):
    h.call_api(sciplab.reliability, data, "PHQ-9", level=level)


@given(
    pre=st.lists(number_cells, max_size=6),
    post=st.lists(number_cells, max_size=6),
    sd=any_value,
    rxx=any_value,
    cutoff=any_value,
)
@example(pre=[9.0], post=[2.0], sd=5, rxx=0.85, cutoff=np.nan)
@h.fuzz_settings(25)
def test_reliable_change(pre, post, sd, rxx, cutoff):
    h.call_api(sciplab.reliable_change, pd.Series(pre, dtype=float), pd.Series(post, dtype=float),
               instrument="PHQ-9", scale="total", sd=sd, rxx=rxx, cutoff=cutoff)  # fmt: skip


MODEL_LINES = ["m ~ a*x", "y ~ b*m + x", "ab := a*b", "y ~ x", "m ~~ y", "y ~ 1e999*x", "x ~ y", "y ~ m[/x]",
               "total := c + a*b", "y ~ c*x", "m ~ 0.5*x"]  # fmt: skip


@given(
    data=frames(["x", "m", "y"], min_rows=0, max_rows=30),
    model=st.lists(st.sampled_from(MODEL_LINES), min_size=1, max_size=4).map("\n".join),
    bootstrap=st.sampled_from([0, 1, -1, 100, "x", None, 10**12]),
    ci=st.sampled_from(["percentile", "bca", "none", "x"]),
    seed=any_value,
    scale=st.sampled_from([1.0, 1e160, 1e-160]),
)
@h.fuzz_settings(25)
def test_paths(data, model, bootstrap, ci, seed, scale):
    if scale != 1.0:
        data = data.apply(pd.to_numeric, errors="coerce") * scale
    h.call_api(sciplab.paths, data, model, bootstrap=bootstrap, ci=ci, seed=seed)


@given(
    data=frames(h.OCTANT_SCALES, max_rows=15),
    angles=st.sampled_from([None, [0, 45], [90, 135, 180, 225, 270, 315, 360, 45], [np.nan] * 8]),
    bootstrap=st.sampled_from([0, 20, -1, "x"]),
    which=st.sampled_from(["ssm", "ssm_scores"]),
)
@h.fuzz_settings(25)
def test_ssm(data, angles, bootstrap, which):
    kw = {} if angles is None else {"angles_deg": angles}
    if which == "ssm":
        h.call_api(sciplab.ssm, data, h.OCTANT_SCALES, bootstrap=bootstrap, seed=1, **kw)
    else:
        h.call_api(sciplab.ssm_scores, data, h.OCTANT_SCALES, **kw)


@given(
    anxiety=number_cells, avoidance=number_cells, support=number_cells,
    client=any_value, reliability=any_value, sd=any_value,
)  # fmt: skip
@h.fuzz_settings(25)
def test_formulate(anxiety, avoidance, support, client, reliability, sd):
    frame = pd.DataFrame({"client": ["p1"], "ECR-S_anxiety": [anxiety], "ECR-S_avoidance": [avoidance],
                          "MSPSS_total": [support]})  # fmt: skip
    h.call_api(sciplab.formulate, frame, client=client, reliability=reliability, sd=sd)


@given(path=st.sampled_from([123, None, b"x.csv", "", ".", "nope.csv", "x.unknown", "[/x].csv", 1.5]))
@example(path=123)
@h.fuzz_settings(9)
def test_read_data(path):
    with h.workspace():
        h.call_api(sciplab.read_data, path)


@given(
    data=frames(["ECR-S_anxiety", "ECR-S_avoidance", "PSSE_total", "TAS-20_total", "MSPSS_total", "PHQ-9_total"],
                min_rows=0, max_rows=20),
    template=st.sampled_from(["scip-core", "scip-alliance", "x", ""]),
    mapping=st.sampled_from([None, {}, {"attachment_anxiety": "nope"}, {"[/x]": "ECR-S_anxiety"}]),
)  # fmt: skip
@h.fuzz_settings(30)
def test_fit_template(data, template, mapping):
    h.call_api(fit_template, data, template, mapping, bootstrap=0, ci="none")


TOKENS = ["y", "x", "m", "~", "~~", "=~", ":=", "*", "+", "-", "(", ")", "a", "b", "1e999", "0", "\n", ";", "#", "[/x]",
          "$", "nan", "inf", ",", "==", "<", "and", "not", "1.5", " "]  # fmt: skip
tokens = st.sampled_from(TOKENS)


@given(text=st.lists(tokens, max_size=25).map(" ".join) | st.text(max_size=40))
@example(text="")
@example(text="y ~ 1e999*x")
@example(text="ab := " + "(" * 198 + "a*b" + ")" * 198)
@h.fuzz_settings(150)
def test_model_syntax(text):
    h.call_api(parse_model, text)
    if ":=" not in text and "~" not in text:
        h.call_api(parse_expression, text)
