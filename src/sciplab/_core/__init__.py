"""Core building blocks shared by every SCIP Lab layer (errors, RNG, results, I/O)."""
