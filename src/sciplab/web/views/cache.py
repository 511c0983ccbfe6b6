"""Per-worker cache of the client overview, keyed by a fingerprint of everything it is computed from.

The overview of a client's current episode (:func:`sciplab.web.views.overview.client_overview`: the
SCIP chain, formulation, outcome with traffic light, alliance, ruptures and plan) and the rendered
HTML of its analyses (``_overview_analyses.html``, the same for every viewer) are kept in the
process (one :class:`OverviewCache` per app, ``app.state.overview_cache``: one database), least
recently used first out (:data:`MAX_ENTRIES`). The key is the client, the episode
(id, start and end dates) and one query's fingerprint (:func:`fingerprint`) of every input:

* the episode's responses and scores (count and largest id: both are only ever added);
* the episode's sessions (count, largest id and the sum of their ``version``, which the ORM bumps on
  every UPDATE of a session row: an edited rating changes the key);
* the reference choice (:func:`sciplab.web.views.service.choose_reference`): the number of closed
  episodes and the largest score id in closed episodes (a case closing or a late questionnaire of a
  closed case may change the clinic's own reference);
* the rupture threshold (:func:`sciplab.web.views.service.alliance_sd_ref`): count and largest id of
  the clinic's client alliance scores.

Nothing else feeds the overview (its constants are code, reloaded with the process), so a cached
entry is never stale. What the cache never holds: who may see the client (the policy is decided,
and the view audited, on every request before the cache is consulted) and anything per viewer (the
CSRF token, the acknowledgement forms, the record itself).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any

from markupsafe import Markup
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from sciplab.web.models import Episode, Response, Score, TherapySession
from sciplab.web.views.data import CLIENT_ALLIANCE

#: Overviews kept per worker process (least recently used dropped first).
MAX_ENTRIES = 512


@dataclasses.dataclass
class Entry:
    """A computed overview (None: the episode has none) and, once rendered, the HTML of its analyses."""

    overview: Any
    html: Any = None


def _fingerprint_query() -> Any:
    """The fingerprint's one statement, built once (``:ep`` the episode; SQLAlchemy caches its compiled form)."""
    ep = bindparam("ep")
    closed = select(Episode.id).where(Episode.ended_on.is_not(None))
    inst, _, scale = CLIENT_ALLIANCE.rpartition("_")
    ep_scores = select().select_from(Score).join(Response, Response.id == Score.response_id)
    alliance = (
        select()
        .select_from(Score)
        .join(Response, Response.id == Score.response_id)
        .join(TherapySession, TherapySession.id == Response.session_id)
        .where(Response.instrument_id == inst, Score.scale == scale, Score.value.is_not(None))
    )
    return select(
        select(func.count(Response.id)).where(Response.episode_id == ep).scalar_subquery(),
        select(func.max(Response.id)).where(Response.episode_id == ep).scalar_subquery(),
        ep_scores.add_columns(func.count(Score.id)).where(Response.episode_id == ep).scalar_subquery(),
        ep_scores.add_columns(func.max(Score.id)).where(Response.episode_id == ep).scalar_subquery(),
        select(func.count(TherapySession.id)).where(TherapySession.episode_id == ep).scalar_subquery(),
        select(func.max(TherapySession.id)).where(TherapySession.episode_id == ep).scalar_subquery(),
        select(func.sum(TherapySession.version)).where(TherapySession.episode_id == ep).scalar_subquery(),
        select(func.count(Episode.id)).where(Episode.ended_on.is_not(None)).scalar_subquery(),
        ep_scores.add_columns(func.max(Score.id)).where(Response.episode_id.in_(closed)).scalar_subquery(),
        alliance.add_columns(func.count(Score.id)).scalar_subquery(),
        alliance.add_columns(func.max(Score.id)).scalar_subquery(),
    )


_QUERY = _fingerprint_query()


def fingerprint(db: Session, episode: Episode) -> tuple[Any, ...]:
    """Every input of the episode's overview in one query (see the module's docstring)."""
    row = db.execute(_QUERY, {"ep": episode.id}).one()
    return (episode.id, episode.client_id, episode.started_on, episode.ended_on, *(int(v or 0) for v in row))


def fingerprint_parts(key: tuple[Any, ...]) -> dict[str, Any]:
    """What other reads of the overview can take from a :func:`fingerprint` instead of querying again.

    ``closed_episodes``: the clinic's closed episodes; ``alliance``: count and largest id of its client
    alliance scores (the key of :func:`sciplab.web.views.service.alliance_sd_ref`).
    """
    return {"closed_episodes": key[11], "alliance": (key[13], key[14])}


class OverviewCache:
    """The overviews of one app (one database) in one worker: bounded, least recently used out, thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...]) -> Entry | None:
        """The cached entry of ``key`` (and count the hit or miss)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple[Any, ...], entry: Entry) -> Entry:
        """Keep ``entry`` under ``key`` (dropping the least recently used beyond ``max_entries``)."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        """Forget every entry and the counts (tests; the benchmark's uncached figures)."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def analyses_html(entry: Entry, env: Any, charts: Any) -> Any:
    """The rendered ``_overview_analyses.html`` of the entry's overview (rendered once, then kept)."""
    if entry.html is None:
        text = env.get_template("_overview_analyses.html").render(ov=entry.overview, charts=charts)
        entry.html = Markup(text)  # noqa: S704 - the output of the autoescaping environment, already escaped
    return entry.html
