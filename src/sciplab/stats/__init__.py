"""Statistics on any DataFrame: path models, circumplex SSM, change, multilevel, power.

This layer imports only ``sciplab._core`` and the scientific stack — never instruments or scoring —
so every analysis works on data scored by SCIP Lab or by anything else.
"""
