"""Figures of a SCIP simulation run (APA style): attachment plane, network, therapy.

Each function takes the tables written by ``sciplab simulate run`` (persons, sessions; the latent
truths under their ``latent_`` names) and returns a matplotlib Figure drawn inside :func:`sciplab.plot.style.apa_style`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sciplab._core.errors import DataError
from sciplab.plot.style import apa_style

__all__ = [
    "attachment_plane",
    "network_distributions",
    "outcomes_by_policy",
    "policy_effects",
    "policy_metrics",
    "therapy_trajectories",
]


def _need(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df]
    if missing:
        raise DataError(f"{what}: missing column(s) {', '.join(missing)}")


def attachment_plane(persons: pd.DataFrame) -> plt.Figure:
    """Scatter of attachment anxiety vs avoidance, clients highlighted.

    Examples
    --------
    >>> df = pd.DataFrame({"latent_attachment_anxiety": [0.0, 1.0], "latent_attachment_avoidance": [1.0, 0.0],
    ...                    "in_therapy": [True, False]})
    >>> attachment_plane(df).axes[0].get_xlabel()
    'Attachment Avoidance (z)'
    """
    anx, avo = "latent_attachment_anxiety", "latent_attachment_avoidance"
    _need(persons, [anx, avo], "attachment plane")
    with apa_style():
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        client = (
            persons["in_therapy"].astype(bool) if "in_therapy" in persons else pd.Series(False, index=persons.index)
        )
        ax.scatter(persons.loc[~client, avo], persons.loc[~client, anx], s=4, color="0.7", label="Population")
        ax.scatter(persons.loc[client, avo], persons.loc[client, anx], s=6, color="black", label="Clients")
        ax.axhline(0, color="0.4", lw=0.6)
        ax.axvline(0, color="0.4", lw=0.6)
        ax.set_xlabel("Attachment Avoidance (z)")
        ax.set_ylabel("Attachment Anxiety (z)")
        ax.legend(loc="upper right")
    return fig


def network_distributions(persons: pd.DataFrame) -> plt.Figure:
    """Histograms of network degree and perceived support."""
    _need(persons, ["latent_degree", "latent_perceived_support"], "network distributions")
    with apa_style():
        fig, axes = plt.subplots(1, 2, figsize=(7, 3))
        axes[0].hist(persons["latent_degree"], bins=30, color="0.5")
        axes[0].set_xlabel("Number of Ties")
        axes[0].set_ylabel("Persons")
        axes[1].hist(persons["latent_perceived_support"], bins=30, color="0.5")
        axes[1].set_xlabel("Perceived Support")
        fig.tight_layout()
    return fig


def therapy_trajectories(sessions: pd.DataFrame) -> plt.Figure:
    """Mean alliance, tension and therapist-client distance gap by session and policy."""
    _need(sessions, ["session", "latent_alliance", "latent_tension", "policy"], "therapy trajectories")
    with apa_style():
        fig, axes = plt.subplots(1, 2, figsize=(7, 3))
        styles = ["-", "--", ":", "-."]
        for k, (pol, g) in enumerate(sessions.groupby("policy")):
            m = g.groupby("session")[["latent_alliance", "latent_tension"]].mean()
            axes[0].plot(m.index, m["latent_alliance"], styles[k % 4], color="black", label=pol)
            axes[1].plot(m.index, m["latent_tension"], styles[k % 4], color="black", label=pol)
        axes[0].set_xlabel("Session")
        axes[0].set_ylabel("Alliance")
        axes[1].set_xlabel("Session")
        axes[1].set_ylabel("Tension")
        axes[0].legend()
        fig.tight_layout()
    return fig


def outcomes_by_policy(persons: pd.DataFrame) -> plt.Figure:
    """Mean symptom improvement (intake - follow-up) by policy and rupture status, with 95% CIs."""
    _need(persons, ["in_therapy", "policy", "latent_improvement", "latent_n_ruptures", "latent_unrepaired_end"],
          "outcomes")  # fmt: skip
    c = persons[persons["in_therapy"].astype(bool)].copy()
    c["group"] = np.select(
        [c["latent_n_ruptures"] == 0, ~c["latent_unrepaired_end"].astype(bool)], ["no rupture", "repaired"],
        "unrepaired",
    )  # fmt: skip
    with apa_style():
        fig, ax = plt.subplots(figsize=(6, 3.2))
        groups = c.groupby(["policy", "group"])["latent_improvement"]
        stats = groups.agg(["mean", "sem", "count"]).reset_index()
        x = np.arange(len(stats))
        ax.bar(x, stats["mean"], yerr=1.96 * stats["sem"].fillna(0), color="0.6", capsize=3)
        ax.set_xticks(x, [f"{p}\n{g}" for p, g in zip(stats["policy"], stats["group"], strict=True)], fontsize=7)
        ax.set_ylabel("Improvement (Symptom Intensity)")
        ax.axhline(0, color="black", lw=0.6)
    return fig


def policy_metrics(table: pd.DataFrame, metric: str, ylabel: str) -> plt.Figure:
    """Grouped bars of one metric of a policy experiment: pattern x policy, 95% Monte Carlo intervals.

    ``table`` is :attr:`sciplab.sim.experiments.PolicyExperiment.table`.

    Examples
    --------
    >>> t = pd.DataFrame({"policy": ["fixed", "scip"], "pattern": ["secure", "secure"], "metric": ["rupture"] * 2,
    ...                   "mean": [0.2, 0.1], "mc_lower": [0.1, 0.0], "mc_upper": [0.3, 0.2]})
    >>> policy_metrics(t, "rupture", "Ruptures").axes[0].get_ylabel()
    'Ruptures'
    """
    _need(table, ["policy", "pattern", "metric", "mean", "mc_lower", "mc_upper"], "policy experiment")
    t = table[table["metric"] == metric]
    patterns = list(dict.fromkeys(t["pattern"]))
    policies = list(dict.fromkeys(t["policy"]))
    shades = np.linspace(0.25, 0.85, max(len(policies), 1))
    width = 0.8 / max(len(policies), 1)
    with apa_style():
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        for k, pol in enumerate(policies):
            g = t[t["policy"] == pol].set_index("pattern").reindex(patterns)
            x = np.arange(len(patterns)) + (k - (len(policies) - 1) / 2) * width
            err = np.vstack([g["mean"] - g["mc_lower"], g["mc_upper"] - g["mean"]]).clip(min=0)
            ax.bar(x, g["mean"], width, yerr=np.nan_to_num(err), color=str(shades[k]), capsize=2, label=pol)
        ax.set_xticks(np.arange(len(patterns)), [p.capitalize() for p in patterns])
        ax.set_ylabel(ylabel)
        ax.axhline(0, color="black", lw=0.6)
        ax.legend(fontsize=7, ncols=min(len(policies), 4))
        fig.tight_layout()
    return fig


def policy_effects(effects: pd.DataFrame) -> plt.Figure:
    """Forest plot of Cohen's d (improvement) of each policy against the reference, by attachment pattern.

    ``effects`` is :attr:`sciplab.sim.experiments.PolicyExperiment.effects`.
    """
    _need(effects, ["policy", "reference", "pattern", "d", "mc_lower", "mc_upper"], "policy effects")
    e = effects.reset_index(drop=True)
    with apa_style():
        fig, ax = plt.subplots(figsize=(6, 0.28 * len(e) + 1.2))
        y = np.arange(len(e))[::-1]
        err = np.vstack([e["d"] - e["mc_lower"], e["mc_upper"] - e["d"]]).clip(min=0)
        ax.errorbar(e["d"], y, xerr=np.nan_to_num(err), fmt="o", color="black", ms=3, capsize=2)
        ax.set_yticks(y, [f"{p} / {q}" for p, q in zip(e["policy"], e["pattern"], strict=True)], fontsize=7)
        ax.axvline(0, color="0.4", lw=0.6)
        ref = e["reference"].iloc[0] if len(e) else ""
        ax.set_xlabel(f"Cohen's d vs {ref} (improvement)")
        fig.tight_layout()
    return fig
