"""The researcher's de-identified export: CSV, SPSS ``.sav`` (variable and value labels) or Parquet, with a codebook.

De-identified by construction, not by filtering afterwards:

* **keyed pseudonyms** — a client is ``R-`` and 12 hex digits of HMAC-SHA256(export secret, client id).
  The secret is 32 random bytes made for this export and dropped when it returns: it is neither
  stored nor written anywhere, so two exports cannot be linked with each other or with the clinic's
  client codes, and nobody can reverse a pseudonym;
* **dates shifted per client** — every date of a client moves by the same random number of days
  (1 to 182, earlier or later; never 0), so intervals within a client stay exact while calendar
  dates are gone; ``days`` (days since the client's first administration) is exact too;
* **no free text** — session notes, names, contacts, client codes and birth years are never selected
  (the query has no path to ``client_identities``); gender is recoded to a closed list
  (female, male, other or not stated) so a free-text entry cannot leak;
* **small cells suppressed** — clients whose gender × age-band cell holds fewer than
  :data:`MIN_CELL` (5) clients get both quasi-identifiers blanked (missing), as count tables from
  the same clinic would suppress cells under 5.

The codebook (``codebook.csv`` and ``codebook.md``) lists every variable with its label, type and
value labels, and every instrument in the export with its citation and licence. The export is one
ZIP file; its SHA-256, the format, rows and clients are written to the audit log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import io
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sciplab._core.io import write_data
from sciplab.instruments import get_instrument
from sciplab.reports.markup import md_table
from sciplab.web.audit.service import record
from sciplab.web.clients.service import age_band, who_of
from sciplab.web.errors import BadRequest
from sciplab.web.exchange.records import score_table
from sciplab.web.models import Client, Episode
from sciplab.web.policy import Actor, require

MIN_CELL = 5
"""Smallest gender × age-band cell (in clients) whose values are exported; smaller cells are blanked."""

MAX_SHIFT_DAYS = 182
FORMATS = {"csv": ".csv", "sav": ".sav", "parquet": ".parquet"}
GENDER_CODES = {1: "female", 2: "male", 3: "other or not stated"}
_FEMALE = {"f", "female", "w", "woman", "weiblich"}
_MALE = {"m", "male", "man", "männlich"}

VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("pid", "Pseudonymous client id (keyed HMAC, new key for every export)", "string"),
    ("gender", "Gender (recoded; blank in cells under the suppression threshold)", "numeric code"),
    ("age_band", "Ten-year age band (blank when unknown or suppressed)", "string"),
    ("episode", "Episode of care, 1 = the client's first", "integer"),
    ("session", "Session number (blank: outside a session, e.g. intake)", "integer"),
    ("date", "Date of the administration, shifted per client by a random offset (intervals exact)", "date"),
    ("days", "Days since the client's first administration in this export", "integer"),
    ("instrument", "Instrument id of the SCIP Lab library", "string"),
    ("scale", "Scale of the instrument", "string"),
    ("score", "Scale score as sciplab.score computed it", "number"),
    ("status", "Validity status of the score (complete, prorated, too few items ...)", "string"),
    ("band", "Severity band of the score where the instrument defines bands", "string"),
)
COLUMNS = tuple(v[0] for v in VARIABLES)


@dataclasses.dataclass(frozen=True)
class ResearchExport:
    """One export: the ZIP file's bytes, its name and SHA-256, rows, clients and suppressed clients."""

    content: bytes
    filename: str
    sha256: str
    rows: int
    clients: int
    suppressed: int
    format: str


def pseudonym(secret: bytes, client_id: int) -> str:
    """``R-`` and 12 hex digits of HMAC-SHA256(secret, client id)."""
    return "R-" + hmac.new(secret, f"client:{client_id}".encode(), hashlib.sha256).hexdigest()[:12]


def gender_code(text: str | None) -> int:
    """The closed gender code of a free-text entry (1 female, 2 male, 3 other or not stated)."""
    word = (text or "").strip().lower()
    return 1 if word in _FEMALE else 2 if word in _MALE else 3


def date_offsets(client_ids: list[int]) -> dict[int, int]:
    """A random non-zero shift in days (±1..182) per client, from the operating system's random source."""
    return {cid: (1 + secrets.randbelow(MAX_SHIFT_DAYS)) * (1 if secrets.randbelow(2) else -1) for cid in client_ids}


def deidentified_frame(
    db: Session, *, secret: bytes, offsets: dict[int, int] | None = None, min_cell: int = MIN_CELL
) -> tuple[pd.DataFrame, int]:
    """The export table (:data:`COLUMNS`) and the number of clients whose cell was suppressed.

    Selects from ``clients`` (id, gender, birth year), ``episodes`` (ids for numbering) and the
    scored responses only.
    """
    scores = score_table(db)
    people = db.execute(select(Client.id, Client.gender, Client.birth_year)).all()
    ep_order = db.execute(select(Episode.id, Episode.client_id).order_by(Episode.client_id, Episode.id)).all()
    if scores.empty:
        return pd.DataFrame(columns=list(COLUMNS)), 0
    offsets = offsets if offsets is not None else date_offsets(sorted({int(c) for c in scores["client_id"]}))
    demo = pd.DataFrame(
        [(p.id, gender_code(p.gender), age_band(p.birth_year)) for p in people],
        columns=["client_id", "gender", "age_band"],
    )
    in_export = demo[demo["client_id"].isin(scores["client_id"])]
    cell = in_export.groupby(["gender", "age_band"])["client_id"].transform("size")
    small = set(in_export.loc[cell < min_cell, "client_id"])
    demo["gender"] = demo["gender"].where(~demo["client_id"].isin(small)).astype("Int64")
    demo["age_band"] = demo["age_band"].where(~demo["client_id"].isin(small), "")
    episode_number: dict[int, int] = {}
    seen: dict[int, int] = {}
    for ep_id, cid in ep_order:
        seen[cid] = seen.get(cid, 0) + 1
        episode_number[ep_id] = seen[cid]
    frame = scores.merge(demo, on="client_id", how="left")
    real = pd.to_datetime(frame["date"])
    shift = pd.to_timedelta(frame["client_id"].map(offsets).astype(int), unit="D")
    frame["date"] = (real + shift).dt.normalize()
    frame["days"] = (real - real.groupby(frame["client_id"]).transform("min")).dt.days.astype(int)
    frame["episode"] = frame["episode_id"].map(episode_number).astype("Int64")
    frame["pid"] = [pseudonym(secret, int(c)) for c in frame["client_id"]]
    frame["gender"] = frame["gender"].astype("Int64")
    frame["age_band"] = frame["age_band"].fillna("")
    out = frame[list(COLUMNS)].sort_values(["pid", "date", "instrument", "scale"], kind="stable")
    return out.reset_index(drop=True), len(small)


def codebook(frame: pd.DataFrame, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """One row per variable (name, label, type, value labels) and per instrument in ``frame`` (citation, licence)."""
    rows: list[dict[str, Any]] = [
        {
            "kind": "variable",
            "name": name,
            "label": label,
            "type": kind,
            "values": "; ".join(f"{k} = {v}" for k, v in GENDER_CODES.items()) if name == "gender" else "",
            "source": "",
        }
        for name, label, kind in VARIABLES
    ]
    for inst_id in sorted(set(frame["instrument"])):
        inst = get_instrument(inst_id)
        scales = sorted(set(frame.loc[frame["instrument"] == inst_id, "scale"]))
        rows.append(
            {
                "kind": "instrument",
                "name": inst.id,
                "label": inst.name,
                "type": f"scales: {', '.join(scales)}; responses {inst.response.min}-{inst.response.max}",
                "values": f"licence: {inst.licence.name or inst.licence.statement}",
                "source": inst.citation,
            }
        )
    rows.append(
        {
            "kind": "note",
            "name": "de-identification",
            "label": f"keyed pseudonyms (HMAC-SHA256, key made for this export and discarded); dates shifted per "
            f"client by a random 1-{MAX_SHIFT_DAYS} days earlier or later; free text dropped; gender and age band "
            f"blanked for clients in cells under {min_cell}",
            "type": "",
            "values": "",
            "source": "",
        }
    )
    return pd.DataFrame(rows, columns=["kind", "name", "label", "type", "values", "source"])


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["gender"] = out["gender"].astype("float64")  # SPSS numerics; missing = system-missing
    out["episode"] = out["episode"].astype("float64")
    out["session"] = out["session"].astype("float64")
    out.attrs["column_labels"] = {name: label[:120] for name, label, _ in VARIABLES}
    out.attrs["value_labels"] = {"gender": {float(k): v for k, v in GENDER_CODES.items()}}
    return out


def _data_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="sciplab-export-") as tmp:
        path = Path(tmp) / f"data{FORMATS[fmt]}"
        if fmt == "csv":
            data = frame.copy()
            data["date"] = data["date"].dt.strftime("%Y-%m-%d")
        elif fmt == "sav":
            data = _labelled(frame)
        else:
            data = frame
        write_data(data, path)
        return path.read_bytes()


def export(
    db: Session,
    actor: Actor,
    fmt: str = "csv",
    *,
    min_cell: int = MIN_CELL,
    secret: bytes | None = None,
    offsets: dict[int, int] | None = None,
) -> ResearchExport:
    """The de-identified export of the whole clinic as a ZIP (data file, codebook), audited.

    ``secret`` and ``offsets`` exist for tests that check the construction; in use both are random
    and forgotten when the function returns.
    """
    require(actor, "research.export")
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if not MIN_CELL <= min_cell <= 100:  # a researcher may make suppression stricter, never weaker
        raise BadRequest(f"min_cell must be a whole number from {MIN_CELL} to 100; got {min_cell}")
    key = secret if secret is not None else secrets.token_bytes(32)
    frame, suppressed = deidentified_frame(db, secret=key, offsets=offsets, min_cell=min_cell)
    del key
    book = codebook(frame, min_cell)
    stamp = dt.date.today().isoformat()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"scores{FORMATS[fmt]}", _data_bytes(frame, fmt))
        zf.writestr("codebook.csv", book.to_csv(index=False))
        zf.writestr("codebook.md", _codebook_md(book, len(frame), frame["pid"].nunique()))
    content = buffer.getvalue()
    digest = hashlib.sha256(content).hexdigest()
    clients = int(frame["pid"].nunique())
    record(
        db,
        who_of(actor),
        "research.export",
        "export",
        fmt,
        detail={
            "format": fmt,
            "rows": len(frame),
            "clients": clients,
            "sha256": digest,
            "min_cell": min_cell,
            "suppressed_clients": suppressed,
        },
    )
    return ResearchExport(content, f"sciplab-research-{stamp}-{fmt}.zip", digest, len(frame), clients, suppressed, fmt)


def _codebook_md(book: pd.DataFrame, rows: int, clients: int) -> str:
    lines = [
        "# SCIP Clinic research export: codebook",
        "",
        f"{rows} rows (one per scale score), {clients} clients.",
        "",
    ]
    for kind, title in (("variable", "Variables"), ("instrument", "Instruments"), ("note", "De-identification")):
        part = book[book["kind"] == kind]
        lines += [
            f"## {title}",
            "",
            md_table(
                ["name", "label", "type", "values", "source"],
                part[["name", "label", "type", "values", "source"]].values.tolist(),
            ),
            "",
        ]
    return "\n".join(lines)
