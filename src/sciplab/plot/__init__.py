"""Publication-quality figures (APA style) drawn from SCIP Lab result objects."""
