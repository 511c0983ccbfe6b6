"""Statistics on any DataFrame: path/mediation models, the circumplex SSM and change analytics.

* :mod:`~sciplab.stats.paths` - recursive path (mediation) models with bootstrap, BCa or Monte
  Carlo intervals (:func:`~sciplab.stats.paths.paths`);
* :mod:`~sciplab.stats.circumplex` - the Structural Summary Method (:func:`~sciplab.stats.circumplex.ssm`)
  and the octant codes and angles (``OCTANT_CODES``, ``OCTANTS``);
* :mod:`~sciplab.stats.change` - reliable change, expected treatment response, ruptures and growth;
* :mod:`~sciplab.stats.syntax` - the one lavaan-style model and expression parser;
* :mod:`~sciplab.stats.power` - Monte Carlo power and sample size of path/mediation models and
  analytic Sobel power (:func:`~sciplab.stats.power.power`, :func:`~sciplab.stats.power.sample_size`);
* ``_bootstrap`` (the one resampling engine) and ``_formulas`` (pure kernels) are private.

An SEM engine is planned, not yet here. This layer imports only
``sciplab._core`` and the scientific stack - never instruments or scoring - so every analysis works
on data scored by SCIP Lab or by anything else.
"""
