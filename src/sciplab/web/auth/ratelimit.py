"""Rate limits kept in the database, shared by every Uvicorn worker and every machine behind one proxy.

A limit is a *bucket* (``login:<address>``, ``link:<address>``) that may hold at most ``limit`` events
inside a sliding window of ``window_s`` seconds. Only failures are counted (a wrong password, a link
token that does not verify), so a clinic's normal traffic writes nothing here. Old events of a bucket
are deleted when the bucket is next written.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, bindparam, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sciplab.web.models import Base, UTCDateTime, utcnow


class RateEvent(Base):
    """One counted event (a failed login, a bad link token) of a rate-limit bucket."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket_at", "bucket", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(96))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


#: Events of a bucket since a time (built once: SQLAlchemy reuses its compiled form).
_COUNT = select(func.count(RateEvent.id)).where(
    RateEvent.bucket == bindparam("bucket"), RateEvent.at > bindparam("since")
)


class RateLimiter:
    """At most ``limit`` events per bucket in ``window_s`` seconds, counted in the database."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window = limit, window_s

    def _since(self) -> dt.datetime:
        return utcnow() - dt.timedelta(seconds=self.window)

    def count(self, db: Session, bucket: str) -> int:
        """Events of ``bucket`` inside the window."""
        n = db.scalar(_COUNT, {"bucket": bucket[:96], "since": self._since()})
        return int(n or 0)

    def blocked(self, db: Session, bucket: str) -> bool:
        """True when ``bucket`` reached the limit inside the window."""
        return self.count(db, bucket) >= self.limit

    def fail(self, db: Session, bucket: str) -> None:
        """Count one event of ``bucket`` (and forget its events older than the window)."""
        db.execute(delete(RateEvent).where(RateEvent.bucket == bucket[:96], RateEvent.at <= self._since()))
        db.add(RateEvent(bucket=bucket[:96], at=utcnow()))
        db.flush()
