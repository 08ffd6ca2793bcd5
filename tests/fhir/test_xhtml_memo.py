"""Narrative checks remembered by content: the same answer as a fresh check, a copy the caller may change."""

from __future__ import annotations

from conformance.validation.fhir import xhtml

GOOD = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Bonjour</p></div>'
BAD = '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script><p onclick="y">z</p></div>'


def test_a_remembered_answer_is_the_fresh_answer() -> None:
    for text in (GOOD, BAD, "<div", '<div xmlns="http://www.w3.org/1999/xhtml"> </div>'):
        first = xhtml.check_xhtml(text)
        assert first == xhtml._check_xhtml(text)
        assert xhtml.check_xhtml(text) == first


def test_the_caller_gets_its_own_list() -> None:
    problems = xhtml.check_xhtml(BAD)
    assert [rule for rule, _args in problems] == [
        "XHTML_XHTML_Element_Illegal",
        "XHTML_XHTML_Attribute_Illegal",
        "txt-1",
    ]
    problems.clear()
    assert len(xhtml.check_xhtml(BAD)) == 3


def test_problems_in_document_order_comments_skipped() -> None:
    text = (
        '<div xmlns="http://www.w3.org/1999/xhtml" xmlns:x="urn:x"><!-- note --><?pi x?>'
        '<td colspan="2" href="h">a</td><a href="h" x:colspan="1">b</a><x:y/><img src="s" onload="o"/></div>'
    )
    assert xhtml._check_xhtml(text) == [
        ("XHTML_XHTML_Attribute_Illegal", ("href", "td")),
        ("XHTML_XHTML_Attribute_Illegal", ("colspan", "a")),
        ("XHTML_XHTML_Element_Illegal", ("y",)),
        ("XHTML_XHTML_Attribute_Illegal", ("onload", "img")),
        ("txt-1", ()),
    ]


def test_some_text_or_an_image() -> None:
    empty = '<div xmlns="http://www.w3.org/1999/xhtml"><p> </p><!-- comment --></div>'
    image = '<div xmlns="http://www.w3.org/1999/xhtml"><p> <img src="a.png"/></p></div>'
    late = '<div xmlns="http://www.w3.org/1999/xhtml"><p> </p><p>\n</p><b>x</b></div>'
    assert xhtml._check_xhtml(empty) == [("txt-2", ())]
    assert xhtml._check_xhtml(image) == []
    assert xhtml._check_xhtml(late) == []


def test_a_lone_surrogate_is_a_parse_error_not_a_crash() -> None:
    # the standard library's JSON parser lets "\ud800" through; orjson does not
    text = '<div xmlns="http://www.w3.org/1999/xhtml">a\ud800b</div>'
    problems = xhtml.check_xhtml(text)
    assert [rule for rule, _args in problems] == ["Error_parsing_XHTML_", "txt-1"]
    assert xhtml.language_sections(text) is None
