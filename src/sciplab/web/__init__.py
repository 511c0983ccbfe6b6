"""SCIP Clinic: the clinical web app of SCIP Lab (issue 13).

``create_app(settings)`` (:mod:`sciplab.web.app`) builds the FastAPI application: server-rendered
pages and the JSON API under ``/api/v1`` over one service layer (domain folders ``auth``,
``clients``, ``measures``, ``audit``), one policy layer (:mod:`sciplab.web.policy`) and a schema
managed by Alembic migrations (:mod:`sciplab.web.migrate`). Only the ``serve``, ``db``, ``users``
and ``audit`` commands import this package; nothing below the web layer imports it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    # FastAPI and SQLAlchemy load only when the app is asked for (``import sciplab.web`` stays light).
    if name == "create_app":
        from sciplab.web.app import create_app

        return create_app
    if name == "Settings":
        from sciplab.web.settings import Settings

        return Settings
    raise AttributeError(name)
