"""Every shipped definition loads, and its key matches ../shared/docs/instruments.md.

The expected values below are copied from instruments.md (section numbers in comments), not from
the definition files, so a wrong edit to a file fails here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from sciplab.instruments import get_instrument, list_instruments, load_definition
from sciplab.instruments.schema import Instrument

DEFINITIONS = Path(str(resources.files("sciplab.instruments") / "definitions"))
FILES = sorted(DEFINITIONS.glob("*.toml"))

SHIPPED = {
    "CATS",
    "CORE-10",
    "CORE-OM",
    "ECR",
    "ECR-12",
    "ECR-R",
    "ECR-R-interleaved",
    "ECR-S",
    "GAD-7",
    "IIP-32",
    "IIP-SC",
    "K10",
    "K10-US",
    "MSPSS",
    "PBI",
    "PHQ-9",
    "PSSE",
    "SEQ",
    "SPS",
    "TAS-20",
    "TDS",
    "WAI-SR",
}
STRUCTURE_ONLY = {"CATS", "TDS", "SEQ"}
# instruments.md §1, "Key status" column (SINGLE-SOURCE unless VERIFIED)
KEY_STATUS = {
    "CORE-10": "single-source",
    "CORE-OM": "verified",
    "ECR": "verified",
    "ECR-12": "single-source",
    "ECR-R": "verified",
    "ECR-R-interleaved": "single-source",
    "ECR-S": "verified",
    "GAD-7": "verified",
    "IIP-32": "single-source",
    "IIP-SC": "single-source",
    "K10": "verified",
    "K10-US": "verified",
    "MSPSS": "verified",
    "PBI": "verified",
    "PHQ-9": "verified",
    "PSSE": "single-source",
    "SPS": "verified",
    "TAS-20": "verified",
    "WAI-SR": "verified",
}
# never shipped: keys unverified or proprietary (instruments.md §4.2b, §4.3, §5.1, §8.2, §1 OQ-45)
NOT_SHIPPED = ["WAI", "WAI-S", "br-WAI", "ICQ", "SES-social", "SPS-10", "SPS-5", "OQ-45"]


def inst(iid: str) -> Instrument:
    return get_instrument(iid)


def items_of(iid: str, scale: str) -> list[int]:
    return sorted(inst(iid).scale(scale).items)


def odd(n: int) -> list[int]:
    return list(range(1, n + 1, 2))


def even(n: int) -> list[int]:
    return list(range(2, n + 1, 2))


# ------------------------------------------------------------------------------------------------
# every file


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_file_loads_and_is_named_after_its_id(path: Path) -> None:
    loaded = load_definition(path)
    assert loaded.id == path.stem
    assert loaded.citation and loaded.response.source and loaded.licence.source


def test_library_holds_exactly_the_documented_instruments() -> None:
    assert {i.id for i in list_instruments()} == SHIPPED
    assert {f.stem for f in FILES} == SHIPPED


@pytest.mark.parametrize("name", NOT_SHIPPED)
def test_unverified_or_proprietary_instruments_are_not_shipped(name: str) -> None:
    ids = {i.id.lower().replace("-", "") for i in list_instruments()}
    assert name.lower().replace("-", "") not in ids


@pytest.mark.parametrize("iid", sorted(KEY_STATUS))
def test_key_status_matches_the_doc(iid: str) -> None:
    i = inst(iid)
    assert i.has_key
    assert i.status == KEY_STATUS[iid]
    assert i.key is not None and i.key.sources


@pytest.mark.parametrize("iid", sorted(STRUCTURE_ONLY))
def test_structure_only_instruments_have_no_key(iid: str) -> None:
    i = inst(iid)
    assert not i.has_key and i.key is None and i.status == "no-key"
    assert all(not s.items for s in i.scales)
    assert i.structure_source
    assert "UNVERIFIED" in i.structure_source


@pytest.mark.parametrize("iid", sorted(KEY_STATUS))
def test_every_item_is_scored_and_missing_rules_are_explicit(iid: str) -> None:
    i = inst(iid)
    scored = {item for s in i.scales for item in s.items}
    assert scored == set(i.item_numbers), "every item belongs to at least one scale"
    for s in i.scales:
        assert s.missing.source, f"{iid}.{s.name} has no missing-rule source"
        assert 1 <= s.missing.min_answered <= s.n_items
        assert s.construct is not None


def test_missing_rule_defaults_to_all_items_except_core_om() -> None:
    """Only CORE-OM has a published rule (instruments.md §2, §6.5)."""
    for i in list_instruments():
        if not i.has_key or i.id == "CORE-OM":
            continue
        for s in i.scales:
            assert s.missing.min_answered == s.n_items, f"{i.id}.{s.name}"
            assert s.missing.prorate is False
            assert "no published" in s.missing.source.lower() or "no missing" in s.missing.source.lower()


def test_every_fact_has_a_source_and_a_status() -> None:
    for i in list_instruments():
        for group in (i.norms, i.reliability, i.cutoffs, i.reliable_change):
            for fact in group:
                assert fact.source.strip(), i.id
                assert fact.status in ("verified", "single-source"), i.id
        for flag in i.flags:
            assert flag.source.strip()


# ------------------------------------------------------------------------------------------------
# item wording only where the licence allows (instruments.md §2 "Item wording")

WORDING_ALLOWED = {"PHQ-9", "GAD-7", "CORE-10", "CORE-OM"}


@pytest.mark.parametrize("iid", sorted(SHIPPED))
def test_item_wording_only_where_the_licence_allows(iid: str) -> None:
    i = inst(iid)
    if iid in WORDING_ALLOWED:
        assert i.licence.item_text
    else:
        assert not i.licence.item_text
        assert not i.item_text


@pytest.mark.parametrize("iid", ["IIP-32", "IIP-SC", "WAI-SR", "PBI", "TAS-20", "ECR", "ECR-R", "SPS"])
def test_proprietary_or_unconfirmed_instruments_ship_no_wording(iid: str) -> None:
    assert inst(iid).item_text == {}
    assert inst(iid).licence.item_text is False


def test_gad7_wording_is_the_official_public_domain_text() -> None:
    # as in ucam-department-of-psychiatry/camcops, server/camcops_server/extra_strings/gad7.xml
    assert dict(inst("GAD-7").item_text) == {
        1: "Feeling nervous, anxious or on edge",
        2: "Not being able to stop or control worrying",
        3: "Worrying too much about different things",
        4: "Trouble relaxing",
        5: "Being so restless that it is hard to sit still",
        6: "Becoming easily annoyed or irritable",
        7: "Feeling afraid as if something awful might happen",
    }
    assert inst("GAD-7").response.anchors[0] == "Not at all"  # not "not at all sure" (§6.2)


def test_phq9_wording_matches_the_official_form() -> None:
    # as in ucam-department-of-psychiatry/camcops, server/camcops_server/extra_strings/phq9.xml
    text = inst("PHQ-9").item_text
    assert len(text) == 9
    assert text[6] == (
        "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or your family down"
    )
    assert text[8].startswith("Moving or speaking so slowly that other people could have noticed? Or the opposite")
    assert "opposite \u2014 being so fidgety" in text[8]
    assert text[9] == "Thoughts that you would be better off dead or of hurting yourself in some way"


def test_core10_wording_is_complete_and_attributed() -> None:
    i = inst("CORE-10")
    assert sorted(i.item_text) == list(range(1, 11))
    assert i.item_text[2] == "I have felt I have someone to turn to for support when needed"
    assert "CC BY-ND 4.0" in i.licence.statement
    assert "CORE System Trust" in i.description


def test_core_om_wording_is_not_shipped_without_a_checked_copy() -> None:
    assert inst("CORE-OM").item_text == {}


# ------------------------------------------------------------------------------------------------
# attachment (§3)


def test_ecr_key() -> None:  # §3.1
    assert items_of("ECR", "avoidance") == odd(36)
    assert items_of("ECR", "anxiety") == even(36)
    assert inst("ECR").key.reverse == (3, 15, 19, 22, 25, 27, 29, 31, 33, 35)
    assert inst("ECR").scoring == "mean"


def test_ecr_r_author_order() -> None:  # §3.2
    assert items_of("ECR-R", "anxiety") == list(range(1, 19))
    assert items_of("ECR-R", "avoidance") == list(range(19, 37))
    assert inst("ECR-R").key.reverse == (9, 11, 20, 22, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36)
    assert inst("ECR-R").status == "verified"


def test_ecr_r_interleaved_order_is_a_separate_single_source_key() -> None:  # §3.2 numbering trap
    i = inst("ECR-R-interleaved")
    assert items_of("ECR-R-interleaved", "avoidance") == odd(36)
    assert items_of("ECR-R-interleaved", "anxiety") == even(36)
    assert i.key.reverse == (2, 3, 5, 11, 15, 17, 19, 22, 25, 27, 29, 31, 33, 35)
    assert i.status == "single-source"
    assert "dependlab" in i.description and "which form was administered" in i.description
    assert i.key.reverse != inst("ECR-R").key.reverse


def test_ecr_s_key() -> None:  # §3.3
    assert items_of("ECR-S", "anxiety") == [2, 4, 6, 8, 10, 12]
    assert items_of("ECR-S", "avoidance") == [1, 3, 5, 7, 9, 11]
    assert inst("ECR-S").key.reverse == (1, 5, 8, 9)


def test_ecr_12_uses_original_ecr_numbers_consistent_with_ecr() -> None:  # §3.4
    i = inst("ECR-12")
    assert i.item_numbers == (2, 6, 8, 9, 14, 15, 18, 24, 25, 27, 29, 31)
    assert items_of("ECR-12", "anxiety") == [2, 6, 8, 14, 18, 24]
    assert items_of("ECR-12", "avoidance") == [9, 15, 25, 27, 29, 31]
    assert i.key.reverse == (15, 25, 27, 29, 31)
    assert "ECR12" in i.column_prefixes
    ecr = inst("ECR")
    for item in i.item_numbers:  # same membership and reversal as the verified ECR key
        assert (item in i.key.reverse) == (item in ecr.key.reverse)
        assert (item in i.scale("anxiety").items) == (item in ecr.scale("anxiety").items)


def test_pbi_key_and_cutoffs() -> None:  # §3.5
    i = inst("PBI")
    assert items_of("PBI", "care") == sorted([1, 5, 6, 11, 12, 17, 2, 4, 14, 16, 18, 24])
    assert items_of("PBI", "overprotection") == sorted([8, 9, 10, 13, 19, 20, 23, 3, 7, 15, 21, 22, 25])
    assert i.key.reverse == tuple(sorted([2, 4, 14, 16, 18, 24, 3, 7, 15, 21, 22, 25]))
    assert i.scale("care").score_range(i.response) == (0, 36)
    assert i.scale("overprotection").score_range(i.response) == (0, 39)
    cut = {(c.scale, c.applies_to): c.value for c in i.cutoffs}
    assert cut == {
        ("care", "mothers"): 27.0,
        ("overprotection", "mothers"): 13.5,
        ("care", "fathers"): 24.0,
        ("overprotection", "fathers"): 12.5,
    }
    assert all(c.status == "single-source" for c in i.cutoffs)
    assert {c.higher_is_worse for c in i.cutoffs if c.scale == "care"} == {False}


# ------------------------------------------------------------------------------------------------
# social competencies and support (§4, §5)


def test_tas20_key_constructs_and_bands() -> None:  # §4.1
    i = inst("TAS-20")
    assert items_of("TAS-20", "DIF") == [1, 3, 6, 7, 9, 13, 14]
    assert items_of("TAS-20", "DDF") == [2, 4, 11, 12, 17]
    assert items_of("TAS-20", "EOT") == [5, 8, 10, 15, 16, 18, 19, 20]
    assert i.key.reverse == (4, 5, 10, 18, 19)
    total = i.scale("total")
    assert total.construct == "emotional_awareness" and total.direction == "inverse"
    assert {i.scale(s).construct for s in ("DIF", "DDF", "EOT")} == {"alexithymia_facet"}
    assert total.score_range(i.response) == (20, 100)
    (cut,) = i.cutoffs
    assert [(b.label, b.min, b.max) for b in cut.bands] == [
        ("non-alexithymic", 20, 51),
        ("possible alexithymia", 52, 60),
        ("alexithymic", 61, 100),
    ]


def test_psse_has_no_reverse_items_and_sums() -> None:  # §4.2a
    i = inst("PSSE")
    assert i.key.reverse == () and i.status == "single-source"
    assert i.scale("total").construct == "social_self_efficacy"
    assert i.scale("total").scoring == "sum" and i.scale("total").n_items == 25
    assert i.response.anchors == {1: "No confidence", 2: "Little", 3: "Moderate", 4: "Much", 5: "Complete confidence"}


def test_sps_provisions() -> None:  # §5.1
    i = inst("SPS")
    assert i.key.reverse == (2, 3, 6, 9, 10, 14, 15, 18, 19, 21, 22, 24)
    expected = {
        "guidance": [3, 12, 16, 19],
        "reassurance_of_worth": [6, 9, 13, 20],
        "social_integration": [5, 8, 14, 22],
        "attachment": [2, 11, 17, 21],
        "opportunity_for_nurturance": [4, 7, 15, 24],
        "reliable_alliance": [1, 10, 18, 23],
    }
    for name, items in expected.items():
        assert items_of("SPS", name) == items
    assert i.scale("total").n_items == 24 and i.scoring == "sum"
    assert i.scale("total").score_range(i.response) == (24, 96)


def test_mspss_sources_means_and_bands() -> None:  # §5.2
    i = inst("MSPSS")
    assert items_of("MSPSS", "significant_other") == [1, 2, 5, 10]
    assert items_of("MSPSS", "family") == [3, 4, 8, 11]
    assert items_of("MSPSS", "friends") == [6, 7, 9, 12]
    assert i.key.reverse == () and i.scoring == "mean"
    total_cut = [c for c in i.cutoffs if c.scale == "total"]
    assert len(total_cut) == 1 and total_cut[0].status == "single-source"
    assert [b.label for b in total_cut[0].bands] == ["low", "moderate", "high"]
    assert total_cut[0].bands[1].min == 3 and total_cut[0].bands[1].max == 5


# ------------------------------------------------------------------------------------------------
# distress (§6)


def test_gad7_key_and_cutoffs() -> None:  # §6.2
    i = inst("GAD-7")
    assert i.key.reverse == () and i.scale("total").score_range(i.response) == (0, 21)
    bands = next(c for c in i.cutoffs if c.bands)
    assert [b.min for b in bands.bands] == [0, 5, 10, 15] and bands.status == "verified"
    value = next(c for c in i.cutoffs if c.value is not None)
    assert value.value == 10 and value.status == "single-source"


def test_k10_codings() -> None:  # §6.3
    au, us = inst("K10"), inst("K10-US")
    assert (au.response.min, au.response.max) == (1, 5)
    assert (us.response.min, us.response.max) == (0, 4)
    assert au.scale("total").score_range(au.response) == (10, 50)
    assert us.scale("total").score_range(us.response) == (0, 40)
    abs_bands = au.cutoffs[0].bands
    assert [(b.min, b.max) for b in abs_bands] == [(10, 15), (16, 21), (22, 29), (30, 50)]
    clinical = au.cutoffs[1].bands
    assert [(b.min, b.max) for b in clinical] == [(10, 19), (20, 24), (25, 29), (30, 50)]
    assert us.cutoffs == ()  # the published bands are on the 10-50 scale
    assert "10-50" in us.description


def test_core10_key_bands_and_reliable_change() -> None:  # §6.4
    i = inst("CORE-10")
    assert i.key.reverse == (2, 3) and i.status == "single-source"
    (cut,) = i.cutoffs
    assert cut.value == 10
    assert [(b.min, b.max) for b in cut.bands] == [(0, 5), (6, 10), (11, 15), (16, 20), (21, 25), (26, 40)]
    (rc,) = i.reliable_change
    assert rc.points == 6 and rc.status == "single-source"


def test_core_om_domains_reverse_and_scores() -> None:  # §6.5
    i = inst("CORE-OM")
    assert items_of("CORE-OM", "W") == [4, 14, 17, 31]
    assert items_of("CORE-OM", "P") == [2, 5, 8, 11, 13, 15, 18, 20, 23, 27, 28, 30]
    assert items_of("CORE-OM", "F") == [1, 3, 7, 10, 12, 19, 21, 25, 26, 29, 32, 33]
    assert items_of("CORE-OM", "R") == [6, 9, 16, 22, 24, 34]
    assert i.key.reverse == (3, 4, 7, 12, 19, 21, 31, 32)
    assert 30 not in i.key.reverse  # awell-score's error is not copied
    assert i.scale("total").scoring == "mean"
    clinical = i.scale("clinical")
    assert clinical.multiplier == 10 and clinical.score_range(i.response) == (0, 40)
    total_sum = i.scale("total_sum")
    assert total_sum.scoring == "sum" and total_sum.score_range(i.response) == (0, 136)
    # missing-item rules (§6.5): up to 3 missing in the total, at most 1 in P and F, W/R all items
    assert {s.name: s.missing.min_answered for s in i.scales} == {
        "W": 4,
        "P": 11,
        "F": 11,
        "R": 6,
        "total": 31,
        "clinical": 31,
        "total_sum": 31,
    }
    (cut,) = i.cutoffs
    assert (cut.scale, cut.value, cut.status) == ("clinical", 10, "verified")
    (flag,) = i.flags
    assert flag.items == (6, 9, 16, 22, 24, 34) and flag.above == 0


# ------------------------------------------------------------------------------------------------
# interpersonal problems (§7.1)

IIP32_OCTANTS = {
    "PA": ([22, 25, 28, 30], 90),
    "BC": ([14, 16, 17, 18], 135),
    "DE": ([10, 11, 13, 15], 180),
    "FG": ([2, 5, 9, 19], 225),
    "HI": ([4, 6, 7, 12], 270),
    "JK": ([1, 8, 20, 31], 315),
    "LM": ([23, 26, 27, 32], 360),
    "NO": ([3, 21, 24, 29], 45),
}
IIPSC_OCTANTS = {
    "PA": [1, 9, 17, 25],
    "BC": [2, 10, 18, 26],
    "DE": [3, 11, 19, 27],
    "FG": [4, 12, 20, 28],
    "HI": [5, 13, 21, 29],
    "JK": [6, 14, 22, 30],
    "LM": [7, 15, 23, 31],
    "NO": [8, 16, 24, 32],
}


def test_iip32_octants_and_angles() -> None:
    i = inst("IIP-32")
    for name, (items, angle) in IIP32_OCTANTS.items():
        assert items_of("IIP-32", name) == items
        assert i.scale(name).angle_deg == angle
        assert i.scale(name).construct == "interpersonal_octant"
    assert i.key.reverse == () and i.scoring == "mean"


def test_iipsc_octants() -> None:
    for name, items in IIPSC_OCTANTS.items():
        assert items_of("IIP-SC", name) == items
        assert inst("IIP-SC").scale(name).angle_deg == IIP32_OCTANTS[name][1]


def test_iip32_community_norms() -> None:
    order = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    expected = {
        "all": (800, [2.0, 2.7, 2.7, 3.3, 4.0, 4.3, 4.3, 2.7], [2.5, 3.3, 3.7, 3.3, 3.3, 3.0, 3.3, 2.6]),
        "women": (400, [1.8, 2.0, 2.7, 3.0, 4.3, 4.8, 4.7, 2.5], [2.5, 3.3, 3.3, 3.3, 3.7, 3.3, 3.3, 2.8]),
        "men": (400, [2.3, 3.0, 3.0, 3.3, 3.7, 4.0, 3.8, 2.8], [2.5, 3.3, 3.7, 3.7, 3.3, 3.0, 3.3, 2.8]),
    }
    i = inst("IIP-32")
    for nid, (n, means, sds) in expected.items():
        norm = i.norm(nid)
        assert norm.n == n and norm.metric == "item_sum" and norm.status == "single-source"
        assert [norm.scales[o].mean for o in order] == means
        assert [norm.scales[o].sd for o in order] == sds


def test_iipsc_norms() -> None:
    i = inst("IIP-SC")
    students, outpatients = i.norm("students"), i.norm("outpatients")
    assert students.n == 872 and students.metric == "item_sum"
    assert students.scales["HI"].mean == 5.68 and students.scales["FG"].sd == 3.79
    assert outpatients.n == 106 and outpatients.metric == "item_mean"
    assert outpatients.scales["LM"].mean == 2.14 and outpatients.scales["NO"].sd == 1.05


# ------------------------------------------------------------------------------------------------
# therapy relationship and process (§8, §9)


def test_wai_sr_key() -> None:  # §8.1
    i = inst("WAI-SR")
    assert items_of("WAI-SR", "task") == [1, 2, 10, 12]
    assert items_of("WAI-SR", "bond") == [3, 5, 7, 9]
    assert items_of("WAI-SR", "goal") == [4, 6, 8, 11]
    assert i.key.reverse == () and i.scoring == "sum"
    assert i.scale("total").score_range(i.response) == (12, 60)


def test_structure_only_process_instruments() -> None:  # §8.3, §8.4, §9.1
    assert [s.name for s in inst("TDS").scales] == [
        "too_close",
        "too_distant",
        "growing_autonomy",
        "growing_engagement",
    ]
    assert inst("TDS").n_items == 0  # item count UNVERIFIED: a user key file defines it
    assert "UNVERIFIED" in inst("TDS").description
    seq = inst("SEQ")
    assert seq.n_items == 21 and (seq.response.min, seq.response.max) == (1, 7)
    assert [s.name for s in seq.scales] == ["depth", "smoothness", "positivity", "arousal"]
    assert inst("CATS").n_items == 36


def test_docs_show_every_instruments_prefix() -> None:
    """docs/instrument-format.md lists each shipped instrument's column prefixes as the definitions do."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "instrument-format.md").read_text(encoding="utf-8")
    block = doc.split("<!-- prefix-table")[1].split("<!-- /prefix-table -->")[0]
    rows = {}
    for line in block.splitlines()[3:]:
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        rows[cells[0]] = (cells[1], [p.strip().strip("`") for p in cells[2].split(",")] if cells[2] != "-" else [])
    assert set(rows) == SHIPPED
    for inst in list_instruments():
        assert rows[inst.id] == (inst.prefix, list(inst.column_prefixes[1:])), inst.id
    assert rows["ECR-S"][0] == "ECRS"


def test_shipped_wording_has_licence_attribution_and_source() -> None:
    """CORE-10 wording is CC BY-ND 4.0: notice, attribution and text source ship with it (issue 10.19)."""
    notices = (resources.files("sciplab.instruments") / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    with_text = [i for i in list_instruments() if i.item_text]
    assert sorted(i.id for i in with_text) == ["CORE-10", "GAD-7", "PHQ-9"]
    for inst in with_text:
        assert inst.licence.text_source and inst.licence.attribution, inst.id
        assert f"## {inst.id} (`definitions/{inst.id}.toml`)" in notices
    core = get_instrument("CORE-10").licence
    assert core.name == "CC BY-ND 4.0" and core.url == "https://creativecommons.org/licenses/by-nd/4.0/"
    assert "CORE System Trust" in core.attribution and "CC BY-ND 4.0" in notices


def test_instruments_show_prints_licence_attribution_source_and_prefix() -> None:
    from typer.testing import CliRunner

    from sciplab.cli.main import app

    res = CliRunner().invoke(app, ["instruments", "show", "CORE-10"], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "licence: CC BY-ND 4.0 <https://creativecommons.org/licenses/by-nd/4.0/>:" in out
    assert "attribution: CORE-10 item wording and response anchors (c) CORE System Trust" in out
    assert "item wording from: CamCOPS task strings" in out
    assert "item columns: CORE10_01 (prefix CORE10)" in out
    js = CliRunner().invoke(app, ["instruments", "show", "ECR-S", "--json"])
    assert '"prefix": "ECRS"' in js.output


def test_no_user_visible_text_cites_internal_notes() -> None:
    """Users have no instruments.md or shared/docs: definitions and messages cite papers or docs/ (10.16)."""
    src = Path(__file__).resolve().parents[2] / "src" / "sciplab"
    files = [*FILES, *(src / "instruments").glob("*.py")]
    files += [src / "scoring" / f"{m}.py" for m in ("engine", "columns", "reliability", "octants", "__init__")]
    for f in files:
        text = f.read_text(encoding="utf-8")
        for internal in ("instruments.md", "shared/docs", "scip-model.md", "analysis-methods.md", "§"):
            assert internal not in text, f"{f.name} cites {internal}"
