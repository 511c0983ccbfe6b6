"""The SCIP model itself: constructs, model templates (lavaan syntax) and formulation rules."""
