"""HTML report of a simulation run folder: attachment plane, network and support, therapy by policy.

Figures are drawn by :mod:`sciplab.plot.sim` and embedded as inline SVG, so the report is one file.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

from sciplab._core.errors import DataError
from sciplab._core.files import check_output, write_text_atomic
from sciplab.plot import sim as simplot
from sciplab.reports._svg import figure_svg
from sciplab.sim.io import read_outputs

__all__ = ["html_report", "policy_report", "write_policy_report", "write_report"]


def html_report(folder: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None) -> str:
    """Build the report HTML for a folder written by ``sciplab simulate run``."""
    data = read_outputs(folder)
    persons, sessions, details = data["persons"], data["sessions"], data["details"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>SCIP simulation report</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto} table{border-collapse:collapse}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:right}</style></head><body>",
        "<h1>SCIP simulation report</h1>",
        f"<p>{html.escape(str(details.get('n_agents')))} agents, {html.escape(str(details.get('n_clients')))} clients, "
        f"policy {html.escape(str(details.get('policy')))}, seed {html.escape(str(details.get('seed')))}.</p>",
    ]
    figures = [
        ("Attachment plane", lambda: simplot.attachment_plane(persons)),
        ("Network degree and perceived support", lambda: simplot.network_distributions(persons)),
    ]
    if len(sessions):
        figures.append(("Therapy trajectories by policy", lambda: simplot.therapy_trajectories(sessions)))
        figures.append(("Outcomes by policy and rupture repair", lambda: simplot.outcomes_by_policy(persons)))
    for k, (title, make) in enumerate(figures):
        parts.append(f"<h2>{html.escape(title)}</h2>{figure_svg(make())}")
        if progress is not None:
            progress(k + 1, len(figures))
    cols = [f"latent_{c}" for c in ("attachment_anxiety", "attachment_avoidance", "social_self_efficacy",
            "emotional_awareness", "degree", "perceived_support", "loneliness", "distress")]  # fmt: skip
    cols = [c for c in cols if c in persons]
    desc = persons[cols].describe().T[["mean", "std", "min", "max"]]
    parts.append("<h2>Latent states at baseline</h2>" + desc.to_html(float_format=lambda v: f"{v:.2f}"))
    if "in_therapy" in persons and persons["in_therapy"].any():
        c = persons[persons["in_therapy"].astype(bool)]
        therapy = ["latent_improvement", "latent_alliance_end", "latent_n_ruptures", "sessions_attended"]
        out = c.groupby("policy")[therapy].mean()
        parts.append("<h2>Therapy outcomes by policy</h2>" + out.to_html(float_format=lambda v: f"{v:.2f}"))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the HTML report atomically (:mod:`sciplab._core.files`).

    An existing file is replaced only with ``overwrite``; a file of the run folder (an input) never.
    """
    out = Path(output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise DataError(f"{out}: report must be an .html file")
    inputs = [p for p in Path(folder).iterdir() if p.is_file()] if Path(folder).is_dir() else []
    check_output(out, overwrite=overwrite, inputs=inputs)  # before the figures are drawn
    text = html_report(folder, progress)
    return write_text_atomic(out, text, overwrite=overwrite, inputs=inputs)


def policy_report(experiment) -> str:
    """HTML of a therapist-policy experiment (:func:`sciplab.sim.experiments.compare_policies`)."""
    from sciplab.sim.experiments import METRICS

    d = experiment.details
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Therapist policies by attachment pattern</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto} table{border-collapse:collapse}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:right}</style></head><body>",
        "<h1>Therapist policies by attachment pattern</h1>",
        f"<p>Policies {esc(', '.join(d['policies']))}; {esc(str(d['repetitions']))} independent populations of "
        f"{esc(str(d['n_agents']))} agents ({esc(str(d['years']))} years before help-seeking), every policy meeting "
        f"the same population within a repetition; seed {esc(str(d['seed']))}. Clients are grouped by their "
        f"pre-therapy attachment pattern ({esc(d['patterns'])}). Intervals are 95% Monte Carlo intervals over "
        "repetitions. The therapy rules are model assumptions ([inference]; docs/simulation-model.md), so this is "
        "what the model implies, not a clinical finding.</p>",
    ]
    figures = [
        ("Improvement", lambda: simplot.policy_metrics(experiment.table, "improvement", "Improvement")),
        ("Clients with a rupture", lambda: simplot.policy_metrics(experiment.table, "rupture", "Share Ruptured")),
        (
            "Ruptures repaired by the end",
            lambda: simplot.policy_metrics(experiment.table, "repaired", "Share Repaired"),
        ),
        (f"Effect sizes against {d['reference']}", lambda: simplot.policy_effects(experiment.effects)),
    ]
    for title, make in figures:
        parts.append(f"<h2>{esc(title)}</h2>{figure_svg(make())}")
    parts.append("<h2>Outcomes (mean [95% Monte Carlo interval])</h2>")
    t = experiment.table.copy()
    t["value"] = [f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in zip(t["mean"], t["mc_lower"], t["mc_upper"],
                                                                        strict=True)]  # fmt: skip
    for metric, text in METRICS.items():
        wide = t[t["metric"] == metric].pivot(index="pattern", columns="policy", values="value")
        parts.append(f"<h3>{esc(metric)}: {esc(text)}</h3>" + wide.to_html(escape=True))
    e = experiment.effects
    parts.append(f"<h2>Cohen's d against {esc(d['reference'])} (improvement)</h2>")
    parts.append(e.to_html(index=False, float_format=lambda v: f"{v:.3f}", escape=True))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_policy_report(experiment, output: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write :func:`policy_report` atomically; an existing file only with ``overwrite``."""
    out = Path(output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise DataError(f"{out}: report must be an .html file")
    check_output(out, overwrite=overwrite)
    return write_text_atomic(out, policy_report(experiment), overwrite=overwrite)
