"""Published targets of the SCIP simulation, each tagged *calibration* or *validation*.

Every quantitative target of the project's reference documents on the simulation and on the SCIP
model (its calibration-target table) is a row here, including those the model cannot compute
(``kind="not simulated"``, with the reason) and those where the sources disagree
(``kind="report"``: shown, not scored). Sources are cited by author and year; the full references
are in ``docs/simulation-model.md``.

The split rule (decided before any parameter was tuned against the split)
--------------------------------------------------------------------------
A target is **validation** when it is a pooled estimate over at least three independent samples (a
meta-analysis or systematic review) *and* no default parameter was chosen while looking at it
before the split. Everything else is **calibration**: single-sample anchors, pooled estimates a
default had already been tuned to (``d`` of anxiety and avoidance on outcome, CATS Secure-WAI,
repaired vs unrepaired ruptures, sensitivity-security, the Strange-Situation shares, the stability
of attachment), and the SCIP path signs that define the model. Free parameters may be tuned on the
calibration rows only; validation rows are reported out of sample.

Kinds
-----
``value``
    a published number with a band (what counts as reproduced); ``published_text`` prints the number.
``recalled``
    an **[M]** value (recalled in the reference document, not found in a source): printed as such,
    scored against its band.
``sign``
    only the direction is published: printed ``sign: negative`` / ``sign: positive``; met when the
    point estimate and its whole Monte Carlo interval have that sign.
``report``
    shown with its simulated value, not scored (sources disagree or no value is published).
``not simulated``
    the model has no state for it; the note says why.
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["CALIBRATION", "KINDS", "TARGETS", "VALIDATION", "Target"]

CALIBRATION = "calibration"
VALIDATION = "validation"
KINDS = ("value", "recalled", "sign", "report", "not simulated")


@dataclasses.dataclass(frozen=True)
class Target:
    """One published target.

    ``published`` is the number (NaN for signs, reports without a value and rows not simulated);
    ``published_text`` is what the tables print; ``lower``/``upper`` the band a ``value`` or
    ``recalled`` target must hit (for ``sign`` targets the side of zero).
    """

    id: str
    name: str
    kind: str
    set: str
    published_text: str
    source: str
    published: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"target {self.id}: unknown kind {self.kind!r}")
        if self.set not in (CALIBRATION, VALIDATION):
            raise ValueError(f"target {self.id}: set must be calibration or validation")

    @property
    def scored(self) -> bool:
        """Whether the target is checked (value, recalled, sign)."""
        return self.kind in ("value", "recalled", "sign")


def _v(id_, name, value, lo, hi, set_, source, note="", text=None) -> Target:
    return Target(id_, name, "value", set_, text or f"{value:.2f}", source, value, lo, hi, note)


def _m(id_, name, lo, hi, set_, source, text, note="") -> Target:
    return Target(id_, name, "recalled", set_, text, source, (lo + hi) / 2, lo, hi, note)


def _s(id_, name, sign, set_, source, note="") -> Target:
    lo, hi = (-math.inf, 0.0) if sign < 0 else (0.0, math.inf)
    return Target(id_, name, "sign", set_, f"sign: {'negative' if sign < 0 else 'positive'}", source, math.nan, lo, hi,
                  note)  # fmt: skip


def _r(id_, name, set_, source, text, note="") -> Target:
    return Target(id_, name, "report", set_, text, source, note=note)


def _n(id_, name, set_, source, text, note) -> Target:
    return Target(id_, name, "not simulated", set_, text, source, note=note)


C, V = CALIBRATION, VALIDATION
_MW = "Mallinckrodt & Wei (2005), all four indirect effects significant (N = 430)"
_LSL = "Li, Sun & Li (2022), one sample, N = 672"
_PC = "Professional Counselor (2023), one student sample"
_VAR = "Vardanega (2018), 107 studies, N = 31,916"
_DAG = "Dagan, Facompre & Bernard (2018), 55 samples, N = 4,386; AAI classes, here ECR quadrants at z = 0"
_CATS = "CATS review 1995-2019, K = 11, 752-892 clients"
_MJ = "Mallinckrodt & Jeong (2015), k = 9 per analysis"

TARGETS: tuple[Target, ...] = (
    # --- childhood -------------------------------------------------------------------------------
    _v("C1", "r(caregiver sensitivity, infant security B)", 0.24, 0.17, 0.31, C,
       "De Wolff & van IJzendoorn (1997), 66 studies", "tuned before the split (childhood.strange_situation_sd)"),
    _m("C2", "share of infants classified B", 0.62, 0.67, C, "Strange-Situation base rates",
       "[M] 62-67 % (recalled)", "the coder's two cut points (childhood.strange_situation_cut_anxiety and "
       "_avoidance) are calibrated on C2-C4"),
    _m("C3", "share of infants classified A", 0.18, 0.24, C, "Strange-Situation base rates",
       "[M] about 21 % (recalled)", "band +-3 points around the recalled value; cut points calibrated on C2-C4"),
    _m("C4", "share of infants classified C", 0.11, 0.17, C, "Strange-Situation base rates",
       "[M] about 14 % (recalled)", "band +-3 points around the recalled value; cut points calibrated on C2-C4"),
    _v("C5", "kappa(caregiver secure, infant B)", 0.49, 0.39, 0.59, V, "van IJzendoorn (1995), 18 samples",
       "caregiver secure = mean of caregiver anxiety and avoidance below the quantile that matches the infant B "
       "share (AAI classes are not simulated)"),
    _v("C6", "concordance(caregiver secure, infant B)", 0.75, 0.70, 0.80, V, "van IJzendoorn (1995), 18 samples",
       "same classification as C5", text="75 %"),
    _n("C7", "r(paternal sensitivity, infant security)", V, "De Wolff & van IJzendoorn (1997)", ".12",
       "one caregiver per child"),
    _v("C8", "r(infant security B, adult security)", 0.28, 0.20, 0.45, C, "Fraley (2002); Fraley et al. (2011)",
       "adult security = -(anxiety + avoidance) at baseline; band up to the recalled asymptote .39 [M]",
       text=".28 (early childhood); asymptote .39 [M]"),
    _n("C9", "r(secure-base script, 20 years)", V, "Fraley et al. (2011)", ".43", "no secure-base script state"),
    _v("C10", "r(infant security B, adult competencies)", 0.19, 0.12, 0.26, V, "Groh et al. (peer competence)",
       "mean of the six competencies at baseline stands in for peer competence"),
    _n("C11", "r(infant security, internalising)", V, "Groh et al.", "-.07", "no childhood symptom state"),
    # --- adult block: single-sample anchors (calibration) ---------------------------------------
    _v("A1", "r(anxiety, avoidance)", 0.39, 0.20, 0.45, C, _LSL + "; often .20-.40 [M]"),
    _v("A2", "r(anxiety, perceived support)", -0.28, -0.38, -0.18, C, _LSL),
    _v("A3", "r(avoidance, perceived support)", -0.56, -0.66, -0.46, C, _LSL),
    _v("A4", "r(anxiety, loneliness)", 0.58, 0.48, 0.68, C, _PC),
    _v("A5", "r(avoidance, loneliness)", 0.47, 0.37, 0.57, C, _PC),
    _v("A6", "r(social self-efficacy, loneliness)", -0.44, -0.54, -0.34, C, _PC),
    _v("A7", "r(social self-efficacy, anxiety)", -0.21, -0.31, -0.11, C, _PC),
    _v("A8", "r(social self-efficacy, avoidance)", -0.17, -0.27, -0.07, C, _PC),
    _v("A9", "R2 loneliness (anxiety, self-efficacy, disclosure)", 0.55, 0.45, 0.65, C,
       "Wei, Russell & Zakalik (2005), N = 308"),
    _v("A10", "R2 later distress (loneliness, distress)", 0.42, 0.32, 0.52, C,
       "Wei, Russell & Zakalik (2005), N = 308", "follow-up distress on baseline loneliness and distress"),
    _n("A11", "R2 negative mood (reactivity, cutoff); interpersonal problems", C, "Wei, Vogel et al. (2005), N = 229",
       ".36; .75", "no emotional-reactivity or cutoff constructs"),
    _n("A12", "R2 depressive symptoms", C, "Wei, Mallinckrodt et al. (2005), N = 425", ".54",
       "their predictor set (affect-regulation mediators) is not in the model"),
    # --- adult block: SCIP paths (model-defining signs, calibration) -----------------------------
    _s("P1", "path anxiety -> social self-efficacy", -1, C, _MW),
    _s("P2", "path avoidance -> social self-efficacy", -1, C, _MW),
    _s("P3", "path anxiety -> emotional awareness", -1, C, _MW),
    _s("P4", "path avoidance -> emotional awareness", -1, C, _MW),
    _s("P5", "path social self-efficacy -> support", 1, C, _MW),
    _s("P6", "path emotional awareness -> support", 1, C, _MW),
    _s("P7", "path social self-efficacy -> distress", -1, C, _MW),
    _s("P8", "path emotional awareness -> distress", -1, C, _MW),
    _m("P9", "share of attachment -> support effect via SSE and EA", 0.30, 1.0, C, _MW,
       "substantial [inference: >= .30]; share not published",
       "indirect / total effect of (anxiety + avoidance) on perceived support through social self-efficacy and "
       "emotional awareness (standardised regressions)"),
    _r("P10", "share of attachment -> support effect via all six competencies", C, "Mallinckrodt (2000), claim 4",
       "not published", "model truth: the six competencies as parallel mediators"),
    _r("P11", "path anxiety -> distress (direct)", C,
       "Wei, Heppner & Mallinckrodt (2003): fully mediated by coping; Wei, Mallinckrodt et al. (2005): partial",
       "sources disagree; no target", "controlling social self-efficacy and emotional awareness"),
    _r("P12", "path avoidance -> distress (direct)", C,
       "Wei, Heppner & Mallinckrodt (2003): partial; Wei, Mallinckrodt et al. (2005): full mediation",
       "sources disagree; no target", "controlling social self-efficacy and emotional awareness"),
    # --- adult block: pooled estimates (validation) ----------------------------------------------
    _v("V1", "r(anxiety, distress)", 0.40, 0.30, 0.50, V, _VAR),
    _v("V2", "r(avoidance, distress)", 0.27, 0.17, 0.37, V, _VAR),
    _v("V3", "r(security, distress)", -0.28, -0.38, -0.18, V, _VAR, "security = -(anxiety + avoidance) / 2"),
    _v("V4", "r(insecurity, loneliness)", 0.38, 0.28, 0.48, V, "loneliness-attachment meta-analysis, 108 samples",
       "insecurity = (anxiety + avoidance) / 2"),
    _v("V5", "r(avoidance, negative mental health)", 0.28, 0.18, 0.38, V, "Zhang et al. (2022), k = 245",
       "negative mental health = mean of z(distress) and z(loneliness)"),
    _m("V6", "r(anxiety, negative mental health)", 0.30, 0.35, V, "Zhang et al. (2022)",
       "[M] .30-.35 (recalled; midpoint .325)", "same composite as V5"),
    _n("V7", "r(avoidance, positive mental health)", V, "Zhang et al. (2022)", "-.24",
       "no positive mental-health state"),
    _v("V8", "d(preoccupied vs secure, distress)", 0.48, 0.33, 0.63, V, _DAG),
    _v("V9", "d(dismissing vs secure, distress)", 0.09, -0.06, 0.24, V, _DAG, text=".09 (ns)"),
    _v("V10", "d(insecure vs secure, distress)", 0.21, 0.11, 0.31, V, _DAG),
    _v("V11", "lonely friend: relative increase in loneliness", 0.52, 0.30, 0.75, V,
       "Cacioppo et al. (2009), Framingham [R2]",
       "P(lonely | >= 1 lonely tie) / P(lonely | none) - 1 at follow-up (cross-sectional)", text="+52 %"),
    _n("V12", "SISa transition rates (Hill et al. 2010)", V, "Hill et al. (2010)", "0.04/yr, 0.02/yr, 2 %/yr",
       "used as parameter sources (network.lonely_*), so not a target"),
    _n("V13", "Dunbar layers 5 / 15 / 50 / 150", V, "Dunbar", "5/15/50/150",
       "tie capacity is a parameter; layers are not emergent"),
    _s("V14", "symptom-network hysteresis (c = 2)", 1, V, "Cramer et al. (2016)",
       "mean (falling - rising) activity; published parameters, nothing tuned"),
    # --- therapy --------------------------------------------------------------------------------
    _v("T1", "r(security, alliance)", 0.17, 0.10, 0.23, V, "Diener & Monroe (2011), k = 17, N = 886"),
    _v("T2a", "r(anxiety, alliance)", -0.09, -0.16, -0.02, V, "Notsu et al. (2024), k = 33"),
    _v("T2b", "r(avoidance, alliance)", -0.13, -0.20, -0.06, V, "Notsu et al. (2024), k = 33"),
    _v("T3", "r(CATS secure, alliance)", 0.71, 0.62, 0.79, C, _CATS,
       "tuned before the split (measurement.cats_secure_noise)"),
    _v("T4", "r(CATS avoidant-fearful, alliance)", -0.55, -0.59, -0.50, V, _CATS),
    _v("T5a", "r(CATS secure, avoidance)", -0.12, -0.19, -0.05, V, _CATS),
    _v("T5b", "r(CATS secure, anxiety)", -0.11, -0.18, -0.04, V, _CATS),
    _v("T6a", "r(CATS avoidant-fearful, avoidance)", 0.16, 0.09, 0.23, V, _CATS),
    _v("T6b", "r(CATS preoccupied-merger, avoidance)", 0.0, -0.10, 0.10, V, _CATS, text="weak to zero"),
    _s("T7a", "r(CATS avoidant-fearful, anxiety)", 1, V, _MJ),
    _s("T7b", "r(CATS preoccupied-merger, anxiety)", 1, V, _MJ),
    _v("T7c", "r(CATS preoccupied-merger, alliance)", 0.0, -0.10, 0.10, V, _MJ, text="ns"),
    _v("T8a", "d(pre-therapy anxiety -> outcome)", -0.46, -0.70, -0.25, C, "Levy et al. (2011), 14 studies",
       "tuned before the split"),
    _v("T8b", "d(pre-therapy security -> outcome)", 0.37, 0.20, 0.55, V, "Levy et al. (2011), 14 studies"),
    _v("T8c", "d(pre-therapy avoidance -> outcome)", 0.0, -0.20, 0.20, C, "Levy et al. (2011), 14 studies",
       "tuned before the split", text="about 0"),
    _s("T9", "r(security gain, outcome)", 1, V, "Levy et al. (2018), 36 studies"),
    _s("T15a", "r(avoidance, too close)", 1, C, "Mallinckrodt, Choi & Daly (2015), 47 clients",
       "too close = mean over sessions of max(preferred - therapist distance, 0)"),
    _s("T15b", "r(anxiety, too distant)", 1, C, "Mallinckrodt, Choi & Daly (2015), 47 clients",
       "too distant = mean over sessions of max(therapist - preferred distance, 0)"),
    _v("T16", "d(repaired vs unrepaired rupture -> outcome)", 0.62, 0.20, 1.06, C,
       "Eubanks, Muran & Safran (2018), 11 studies", "tuned before the split (therapy.rupture_stress)"),
    _n("T16b", "rupture-resolution training -> outcome", V, "Eubanks, Muran & Safran (2018)", "r = .11 (ns)",
       "therapist training is not simulated"),
    _v("T17", "r(rupture-repair episode, outcome)", 0.24, 0.09, 0.39, V,
       "Safran, Muran & Eubanks-Carter (2011), k = 3", "any repaired rupture (0/1) vs outcome, all clients"),
    _v("T18", "share of clients with a rupture", 0.46, 0.36, 0.56, C, "McLaughlin et al. (2014), N = 116",
       text="46 %"),
    _s("T18b", "r(rupture unrepaired at the end, outcome)", -1, C, "McLaughlin et al. (2014), N = 116"),
    _v("T19", "share of clients with a repaired rupture", 0.50, 0.40, 0.60, C, "Stevens et al. (2007), 44 cases",
       "local rupture-repair pattern", text="50 %"),
    _m("R1", "r(alliance, outcome)", 0.20, 0.36, V, "alliance-outcome meta-analyses", "[M] about .28 (recalled)"),
    _n("R2", "complementarity high-low-high (U shape)", V, "Tracey (1993, 1999)", "qualitative",
       "no dominance/warmth micro-streams"),
    _n("R3", "rupture-resolution training pre-post", V, "Eubanks et al. (2018), k = 8", "r = .65",
       "therapist training is not simulated"),
)  # fmt: skip

_ids = [t.id for t in TARGETS]
if len(set(_ids)) != len(_ids):  # pragma: no cover - module invariant
    raise RuntimeError("duplicate target ids")
