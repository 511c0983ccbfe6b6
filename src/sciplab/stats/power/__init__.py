"""Power and sample size for path and mediation models: Monte Carlo, batched, local or on Dask.

* :func:`power` - power (with its Monte Carlo SE) of every coefficient and defined/indirect effect
  at one or several sample sizes; Type I error where the population value is 0.
* :func:`sample_size` - the smallest N reaching a target power (search, fitted curve, confirmation).
* :func:`sobel_power`, :func:`sobel_sample_size` - analytic Sobel power with pwrss's conventions.
* :func:`population` - a population model (syntax with values, or a covariance matrix) and its
  implied covariance matrix.

Modules: :mod:`.model` (population and analysis models), :mod:`.generate` (normal, Vale-Maurelli,
missingness), :mod:`.engine` (one chunk of replicates: batched OLS and the tests), :mod:`.runner`
(threads or Dask), :mod:`.analytic` (Sobel), :mod:`.api`, :mod:`.results`.

Generic: no SCIP names here. SCIP templates with literature effect sizes are turned into population
models by :mod:`sciplab.scip.population`. Latent-variable models and FIML need the SEM engine
(``sciplab.stats.sem``); until it is installed they raise :class:`EngineUnavailableError`.
"""

from sciplab.stats.power.analytic import r2_y_exact, sobel_power, sobel_sample_size
from sciplab.stats.power.api import power, sample_size
from sciplab.stats.power.generate import Missing, fleishman
from sciplab.stats.power.model import EngineUnavailableError, Population, population
from sciplab.stats.power.results import PowerResult, SampleSizeResult

__all__ = [
    "EngineUnavailableError",
    "Missing",
    "Population",
    "PowerResult",
    "SampleSizeResult",
    "fleishman",
    "population",
    "power",
    "r2_y_exact",
    "sample_size",
    "sobel_power",
    "sobel_sample_size",
]
