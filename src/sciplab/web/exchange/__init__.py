"""Documents and exchange of SCIP Clinic (issue 15): client reports, de-identified research exports, FHIR, CSV import.

Every number comes from the library (``sciplab.score``, ``sciplab.scoring.change``,
``sciplab.scip.formulate``, ``sciplab._core.io``); these modules select records through the policy
layer, hand them to the library and audit what left or entered the clinic.

* :mod:`.report` — the client report (HTML and PDF) for the record or a referral;
* :mod:`.research` — the researcher's de-identified export (CSV, SPSS ``.sav``, Parquet) with a codebook;
* :mod:`.fhir` — FHIR R4 ``Questionnaire``, ``QuestionnaireResponse`` and ``Observation`` export, and
  ``QuestionnaireResponse`` bundle import;
* :mod:`.csvimport` — import of historical session data from CSV with a saved column mapping;
* :mod:`.routes` — the HTTP routes of all four.
"""
