"""Tests of sciplab.reports.markup: user text renders literally in Markdown and HTML."""

from __future__ import annotations

import html

import markdown_it
from hypothesis import given
from hypothesis import strategies as st

from sciplab.reports.markup import html_text, md_link_target, md_table, md_text

MD = markdown_it.MarkdownIt("commonmark").enable("table")
# printable text with Markdown/HTML punctuation over-represented
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("<>&*_`[]()|#!~\\-+=.:;1 $/{}\"'") + ["\t", "\n", "é", "ß"]),
        st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
    ),
    max_size=40,
)


def _inline(rendered: str, tag: str) -> str:
    start, end = f"<{tag}>", f"</{tag}>"
    assert rendered.startswith(start) and rendered.rstrip("\n").endswith(end), rendered
    return html.unescape(rendered.strip()[len(start) : -len(end)])


@given(TEXT)
def test_md_text_renders_literally_as_paragraph(text):
    want = " ".join(text.split())
    out = MD.render(md_text(text))
    if not want:
        assert out == ""
    else:
        assert _inline(out, "p") == want


@given(TEXT.filter(lambda t: t.strip()))
def test_md_text_renders_literally_as_list_item(text):
    out = MD.render("- " + md_text(text)).replace("\n", "")
    assert out.startswith("<ul><li>") and out.endswith("</li></ul>"), out
    assert html.unescape(out[len("<ul><li>") : -len("</li></ul>")]) == " ".join(text.split())


@given(st.lists(TEXT, min_size=2, max_size=2))
def test_md_table_cells_stay_in_their_cells(cells):
    out = MD.render(md_table(["a", "b"], [cells]))
    body = out.split("<tbody>")[1]
    assert body.count("<td>") == 2


def test_script_client_id_is_text_in_both_formats():
    bad = "<script>alert(1)</script>"
    assert "<script>" not in md_text(bad) and "<script>" not in html_text(bad)
    assert "<script>" not in MD.render(md_text(bad))


def test_link_target_is_encoded():
    assert md_link_target("f_attachment.svg") == "f_attachment.svg"
    assert md_link_target("a b(1).svg") == "a%20b%281%29.svg"
