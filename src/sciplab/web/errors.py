"""Errors of the clinic app: each maps to one HTTP status and one readable message (page or JSON)."""

from __future__ import annotations

from sciplab._core.errors import InvalidParameterError, SciplabError


class WebError(SciplabError):
    """Base class of the clinic's deliberate errors; ``status`` is the HTTP status code."""

    status = 400


class BadRequest(WebError, InvalidParameterError):
    """A form or JSON field has a value outside what is allowed (names the field and the allowed values)."""

    status = 400


class NotAuthenticated(WebError):
    """No valid login session."""

    status = 401


class Forbidden(WebError):
    """The policy layer refused the action (the refusal is audited)."""

    status = 403


class NotFound(WebError):
    """No such record."""

    status = 404


class Conflict(WebError):
    """The request clashes with the current state (e.g. a username already taken)."""

    status = 409


class LinkError(WebError):
    """A questionnaire link is expired, used, withdrawn or tampered with."""

    status = 410


class TooManyAttempts(WebError):
    """Login refused for a while after repeated failures."""

    status = 429


class DatabaseError(WebError):
    """The database is missing, locked, unmigrated or newer than this SCIP Lab."""

    status = 503
