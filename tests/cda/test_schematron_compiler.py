"""Our schematron-to-XSLT compiler on small schematrons written for each feature it must support."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from conformance.validation.cda import candidates, dispatch, pool
from conformance.validation.cda import schematron as sch

SCH = 'xmlns="http://purl.oclc.org/dsdl/schematron"'


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOPEN_CACHE_DIR", str(tmp_path / "cache"))
    sch.clear_memory_cache()
    yield tmp_path / "cache"
    sch.clear_memory_cache()


def _schema(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        "lib/Abstract.sch",
        f"""<pattern {SCH} id="inValueSet" abstract="true">
  <rule context="$elt"><assert test="@code = document($vs)//code/@v">code <value-of select="@code"/> not in $vs</assert></rule>
</pattern>""",
    )
    _write(
        tmp_path,
        "lib/Instance.sch",
        f"""<pattern {SCH} id="colours" is-a="inValueSet">
  <param name="elt" value="colour"/><param name="vs" value="$colours"/></pattern>""",
    )
    _write(tmp_path, "vs/colours.xml", "<vs><code v='red'/><code v='blue'/></vs>")
    return _write(
        tmp_path,
        "main.sch",
        f"""<schema {SCH} queryBinding="xslt2" defaultPhase="normal">
  <title>Test schema</title>
  <include href="lib/abstract.sch"/>
  <include href="lib/Instance.sch"/>
  <phase id="normal"><active pattern="vars"/><active pattern="colours"/><active pattern="people"/></phase>
  <phase id="only-people"><active pattern="people"/></phase>
  <pattern id="vars"><let name="colours" value="'vs/colours.xml'"/></pattern>
  <pattern id="people">
    <rule abstract="true" id="named"><assert test="@name" id="person-name">a person has a name</assert></rule>
    <rule context="person[@vip]"><let name="n" value="string-length(@name)"/>
      <report test="$n &gt; 5" role="warning">long VIP name <name/></report></rule>
    <rule context="person"><extends rule="named"/><assert test="number(@age) ge 0">age is not negative</assert></rule>
    <rule context="unknown"><assert test="doc('vs/missing-DYNAMIC.xml')//x">needs a missing value set</assert></rule>
  </pattern>
</schema>""",
    )


def _run(compiled: sch.CompiledSchematron, xml: str) -> list[sch.SvrlAssertion]:
    return compiled.run(sch.parse_for_saxon(xml.encode())).assertions


def test_includes_abstract_patterns_rules_lets_and_reports(tmp_path: Path, cache: Path) -> None:
    compiled = sch.compile_schematron(_schema(tmp_path))
    found = _run(
        compiled,
        "<doc><colour code='green'/><colour code='red'/><person age='-1'/>"
        "<person vip='1' name='Alexandra' age='3'/><person name='Bo' age='4'/></doc>",
    )
    by_id = {(a.rule_id, a.location) for a in found}
    assert ("person-name", "/doc[1]/person[1]") in by_id  # from the abstract rule, via extends
    assert any(a.pattern == "colours" and "green" in a.text and a.location == "/doc[1]/colour[1]" for a in found)
    assert not any("red" in a.text for a in found)  # the value set was found through the pattern-level let
    assert any(a.kind == "successful-report" and a.role == "warning" and "person" in a.text for a in found)
    # first matching rule wins inside a pattern: the VIP person is not checked by the plain person rule
    assert not any(a.location == "/doc[1]/person[2]" and a.kind == "failed-assert" for a in found)
    assert any(a.location == "/doc[1]/person[1]" and "negative" in a.text for a in found)


def test_a_pattern_without_rules_is_not_walked(tmp_path: Path, cache: Path) -> None:
    """The pattern of lets only ("vars") fires nothing: its marker stays in the SVRL, its walk is gone."""
    sheet = etree.fromstring(sch.schematron_to_xslt(_schema(tmp_path)).xslt.encode())
    markers = [m.get("id") for m in sheet.iter(f"{{{sch.SVRL_NS}}}active-pattern")]
    modes = {a.get("mode") for a in sheet.iter(f"{{{sch.XSL_NS}}}apply-templates")}
    assert markers == ["vars", "colours", "people"]
    assert "M0" not in modes and {"M1", "M2"} <= modes


def test_case_differing_include_is_resolved_and_reported(tmp_path: Path, cache: Path) -> None:
    compiled = sch.compile_schematron(_schema(tmp_path))
    notes = {note.rule: note for note in compiled.notes}
    assert "cda-pack-include-case" in notes
    assert notes["cda-pack-include-case"].location == "lib/abstract.sch"
    assert notes["cda-pack-include-case"].severity in ("warning", "information")


def test_missing_value_set_is_unknown_not_fatal(tmp_path: Path, cache: Path) -> None:
    compiled = sch.compile_schematron(_schema(tmp_path))
    assert any(n.rule == "cda-pack-valueset-missing" and "missing-DYNAMIC" in n.location for n in compiled.notes)
    found = _run(compiled, "<doc><unknown/></doc>")
    assert [a.unknown_value_set for a in found] == [True]


def test_phases_select_patterns(tmp_path: Path, cache: Path) -> None:
    compiled = sch.compile_schematron(_schema(tmp_path), "only-people")
    found = _run(compiled, "<doc><colour code='green'/><person age='1'/></doc>")
    assert {a.pattern for a in found} == {"people"}
    with pytest.raises(sch.SchematronError):
        sch.compile_schematron(_schema(tmp_path), "no-such-phase")


def test_disk_cache_is_keyed_by_content(tmp_path: Path, cache: Path) -> None:
    source = _schema(tmp_path)
    first = sch.compile_schematron(source)
    assert not first.cache_hit
    sch.clear_memory_cache()
    second = sch.compile_schematron(source)
    assert second.cache_hit and second.xslt == first.xslt
    # editing an included file invalidates the cached XSLT
    instance = tmp_path / "lib" / "Instance.sch"
    instance.write_text(instance.read_text().replace('value="colour"', 'value="color"'), encoding="utf-8")
    sch.clear_memory_cache()
    third = sch.compile_schematron(source)
    assert not third.cache_hit and "color" in third.xslt


def test_broken_xpath_is_a_schematron_error(tmp_path: Path, cache: Path) -> None:
    broken = _write(
        tmp_path,
        "broken.sch",
        f'<schema {SCH} queryBinding="xslt2"><pattern><rule context="a"><assert test="((">x</assert></rule></pattern></schema>',
    )
    with pytest.raises(sch.SchematronError):
        sch.compile_schematron(broken)


def test_single_walk_and_per_pattern_walks_fire_the_same_rules(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xml = (
        "<doc><colour code='green'/><colour code='red'/><person age='-1'/>"
        "<person vip='1' name='Alexandra' age='3'/><person name='Bo' age='4'/><unknown/></doc>"
    )

    def assertions(strategy: str = "walk") -> list[tuple[str, str, str]]:
        sch.clear_memory_cache()
        compiled = sch.compile_schematron(_schema(tmp_path), use_disk_cache=False, strategy=strategy)
        return sorted((a.rule_id, a.location, a.text) for a in _run(compiled, xml))

    monkeypatch.setattr(sch, "SINGLE_WALK_MIN_PATTERNS", 100)
    per_pattern = assertions()
    monkeypatch.setattr(sch, "SINGLE_WALK_MIN_PATTERNS", 0)
    single = assertions()
    assert single == per_pattern and len(single) >= 4
    assert assertions("candidates") == per_pattern


def test_include_cycle_is_a_schematron_error(tmp_path: Path, cache: Path) -> None:
    _write(tmp_path, "a.sch", f'<pattern {SCH} id="a"><include href="b.sch"/></pattern>')
    _write(tmp_path, "b.sch", f'<pattern {SCH} id="b"><include href="a.sch"/></pattern>')
    main = _write(tmp_path, "cycle.sch", f'<schema {SCH} queryBinding="xslt2"><include href="a.sch"/></schema>')
    with pytest.raises(sch.SchematronError):
        sch.compile_schematron(main)


@pytest.mark.parametrize("threshold", [0, 100], ids=["single-walk", "per-pattern"])
def test_attribute_contexts_are_visited_only_when_a_rule_needs_them(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    monkeypatch.setattr(sch, "SINGLE_WALK_MIN_PATTERNS", threshold)
    with_attribute = _write(
        tmp_path,
        "attr.sch",
        f"""<schema {SCH} queryBinding="xslt2"><pattern id="p">
  <rule context="item/@code"><assert test="string-length(.) = 3">code <value-of select="."/> is not 3 long</assert></rule>
</pattern><pattern id="q"><rule context="item[@code = 'zz']"><assert test="false()">zz item</assert></rule></pattern></schema>""",
    )
    compiled = sch.compile_schematron(with_attribute, use_disk_cache=False, strategy="walk")
    xml = "<doc><item code='abcd'/><item code='abc'/><item code='zz'/></doc>"
    found = _run(compiled, xml)
    assert sorted(a.location for a in found) == ["/doc[1]/item[1]/@code", "/doc[1]/item[3]", "/doc[1]/item[3]/@code"]
    selected = sch.compile_schematron(with_attribute, use_disk_cache=False)
    assert sorted(a.location for a in _run(selected, xml)) == sorted(a.location for a in found)
    assert "//@*" in compiled.xslt or 'select="@*|*"' in compiled.xslt
    elements_only = _write(
        tmp_path,
        "elements.sch",
        f"""<schema {SCH} queryBinding="xslt2"><pattern id="q">
  <rule context="item[@code = 'zz']"><assert test="false()">zz item</assert></rule></pattern></schema>""",
    )
    lean = sch.compile_schematron(elements_only, use_disk_cache=False, strategy="walk")
    assert "//@*" not in lean.xslt and 'select="@*|*"' not in lean.xslt
    assert [a.location for a in _run(lean, "<doc><item code='zz'/></doc>")] == ["/doc[1]/item[1]"]


def test_value_sets_are_parsed_once_and_reused(tmp_path: Path, cache: Path, capfd: pytest.CaptureFixture) -> None:
    compiled = sch.compile_schematron(_schema(tmp_path))

    def pooled() -> list[str]:  # this test's value set in the process-wide pool (other tests add theirs)
        return [uri for uri in compiled.pool if uri.endswith("/vs/colours.xml") and str(tmp_path) in uri]

    xml = "<doc><colour code='green'/><colour code='red'/></doc>"
    first = _run(compiled, xml)
    assert pooled() == []  # a one-document process never pays for the pool
    _run(compiled, xml)  # a second document: what the first run loaded is pooled before it
    assert len(pooled()) == 1
    # the pooled copy is used from now on: editing the file no longer changes the verdicts of this process
    (tmp_path / "vs" / "colours.xml").write_text("<vs><code v='green'/></vs>", encoding="utf-8")
    third = _run(compiled, xml)
    assert [(a.location, a.text) for a in third] == [(a.location, a.text) for a in first]
    assert "hopen-document-loaded" not in capfd.readouterr().err


def test_the_pool_is_shared_by_every_stylesheet_and_preloaded_from_the_record(tmp_path: Path, cache: Path) -> None:
    """What one stylesheet pooled serves the others (another phase of the same schematron here); the
    documents a schematron read are recorded beside the generated XSLT, and a process that preloads them
    pools them before its first run, with the same verdicts as loading them with doc()."""
    source = _schema(tmp_path)
    xml = "<doc><colour code='green'/><colour code='red'/></doc>"
    whole = sch.compile_schematron(source, use_disk_cache=False, strategy="walk")
    expected = [(a.location, a.text) for a in _run(whole, xml)]
    _run(whole, xml)  # pools colours.xml
    other = sch.compile_schematron(source)  # another stylesheet: loads nothing itself
    assert [(a.location, a.text) for a in _run(other, xml)] == expected
    assert not other.pending
    record = json.loads((sch.cache_dir() / pool.RECORD_NAME).read_text(encoding="utf-8"))
    assert [uri.rpartition("/")[2] for uri in record[str(source.resolve())]] == ["colours.xml"]
    sch.clear_memory_cache()
    assert not any(str(tmp_path) in uri for uri in pool.snapshot())
    pool.preload(sch.saxon(), sch.cache_dir(), [source.resolve()])
    assert any(uri.endswith("/vs/colours.xml") and str(tmp_path) in uri for uri in pool.snapshot())
    fresh = sch.compile_schematron(source)
    assert [(a.location, a.text) for a in _run(fresh, xml)] == expected
    assert not fresh.pending  # served from the pool on its first run


def test_a_missing_document_is_asked_for_once_per_process(tmp_path: Path, cache: Path) -> None:
    """doc-available() of a URI no file answers is announced and answered false from then on without the
    file system (the terminology schematron asks it for every coded element): same verdicts on every run."""
    source = _write(
        tmp_path,
        "avail.sch",
        f"""<schema {SCH} queryBinding="xslt2"><pattern id="p"><rule context="item">
  <assert test="doc-available(concat('terms/', @system, '.xml'))">no terminology <value-of select="@system"/></assert>
  </rule></pattern></schema>""",
    )
    _write(tmp_path, "terms/known.xml", "<terms/>")
    compiled = sch.compile_schematron(source)
    xml = "<doc><item system='known'/><item system='unknown'/><item system='unknown'/></doc>"
    first = [(a.location, a.text) for a in _run(compiled, xml)]
    assert first == [("/doc[1]/item[2]", "no terminology unknown"), ("/doc[1]/item[3]", "no terminology unknown")]
    missing = (tmp_path / "terms" / "unknown.xml").resolve()
    assert any(uri.endswith(str(missing)) for uri in pool._absent)
    for _ in range(2):
        assert [(a.location, a.text) for a in _run(compiled, xml)] == first


def test_svrl_read_by_scanning_as_by_parsing() -> None:
    checks = [
        {"kind": "failed-assert", "id": f"r{n}", "test": "t", "role": "", "pattern": "p", "see": "", "unknown": False}
        for n in range(3)
    ]
    text = (
        '<?xml version="1.0" encoding="UTF-8"?><svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl"'
        ' phase="#ALL" title="T"><svrl:active-pattern id="a"/><svrl:fired-rule/><svrl:fired-rule/>'
        '<svrl:f n="2" location="/x[1]/@a&amp;b">  a &lt;b&gt; &amp;amp; &#xD;\n c&#233;  "q" </svrl:f>'
        '<svrl:f n="0" location="/x[1]"/><svrl:f n="1" location="/y[1]">é</svrl:f></svrl:schematron-output>'
    )
    scanned = sch.parse_svrl(text, checks)
    assert scanned == sch._parse_svrl_tree(text, checks)
    assert [(a.rule_id, a.location, a.text) for a in scanned.assertions] == [
        ("r2", "/x[1]/@a&b", 'a <b> &amp; cé "q"'),
        ("r0", "/x[1]", ""),
        ("r1", "/y[1]", "é"),
    ]
    assert (scanned.fired_rules, scanned.active_patterns) == (2, 1)


def test_rules_dispatched_on_the_parent_fire_what_the_walk_fires(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pattern of rules ending in `*` (the closed-template checks) is dispatched on the parent's name: same
    rule on the same node, priorities between parent-keyed and generic rules kept, positions unchanged."""
    monkeypatch.setattr(dispatch, "MIN_RULES", 1)
    source = _write(
        tmp_path,
        "closed.sch",
        f"""<schema {SCH} queryBinding="xslt2"><pattern id="closed">
  <rule context="doc/a/*[not(self::b)]"><assert test="false()">unexpected <name/> in a</assert></rule>
  <rule context="//c/*[1] | doc/d/*"><assert test="false()">first of c or in d: <name/></assert></rule>
  <rule context="*[@x = 'generic']"><report test="true()">generic <name/></report></rule>
  <rule context="doc/a/*"><report test="true()">other in a: <name/></report></rule>
  <rule context="doc/e/*[@y][2]"><report test="true()">second with y: <name/></report></rule>
</pattern></schema>""",
    )
    xml = (
        "<doc><a><b/><f x='generic'/><g/><b x='generic'/></a><c><h x='generic'/><i/></c><d><j x='generic'/></d>"
        "<e><k y='1'/><l/><m y='2'/><o y='3'/></e><n x='generic'/></doc>"
    )

    def fired(strategy: str) -> tuple[list[tuple[str, str]], int]:
        sch.clear_memory_cache()
        run = sch.compile_schematron(source, use_disk_cache=False, strategy=strategy).run(
            sch.parse_for_saxon(xml.encode())
        )
        return [(a.location, a.text) for a in run.assertions], run.fired_rules

    walked = fired("walk")
    dispatched = sch.compile_schematron(source, use_disk_cache=False)
    assert dispatch.DISPATCH_ATTRIBUTE.split("}")[1] in dispatched.xslt  # the pattern was dispatched
    assert fired("candidates") == walked
    assert ("/doc[1]/a[1]/f[1]", "unexpected f in a") in walked[0]  # a keyed rule before the generic one
    assert ("/doc[1]/a[1]/b[2]", "generic b") in walked[0]  # the generic rule before a later keyed one
    assert ("/doc[1]/c[1]/h[1]", "first of c or in d: h") in walked[0]
    assert ("/doc[1]/e[1]/m[1]", "second with y: m") in walked[0]
    # pruned to some rules (what a first use compiles), dispatched and walked still agree
    parsed = sch.parse_for_saxon(xml.encode())
    for keep in (frozenset({0}), frozenset({2}), frozenset({1, 3}), frozenset({2, 4})):
        pruned, reference = (sch.compile_rules(source, keep, strategy=s).run(parsed) for s in ("candidates", "walk"))
        assert [(a.location, a.text) for a in pruned.assertions] == [(a.location, a.text) for a in reference.assertions]
        assert pruned.fired_rules == reference.fired_rules


def test_a_dispatched_pattern_selects_only_the_children_its_rules_can_match(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidates of a dispatched pattern (closed-template rules) are filtered by the safe predicates of
    their rules' last steps: an expected child is no longer selected, a positional or costly predicate is
    not copied, and the same rules fire on the same nodes as in the walk, whole and pruned."""
    monkeypatch.setattr(dispatch, "MIN_RULES", 1)
    source = _write(
        tmp_path,
        "closed.sch",
        f"""<schema {SCH} queryBinding="xslt2"><pattern id="closed">
  <rule context="doc/a/*[not(@nil = 'true')][not(self::b | self::c[@k = 'v'])]">
    <assert test="false()">unexpected <name/> in a</assert></rule>
  <rule context="doc/d/*[2]"><report test="true()">second in d: <name/></report></rule>
  <rule context="doc/e/*[string-length(@z) > 1]"><report test="true()">long z: <name/></report></rule>
</pattern></schema>""",
    )
    generated = sch.generated_xslt(source)
    whole = etree.fromstring(generated.xslt.encode()).find(f"{{{sch.XSL_NS}}}template[@match='/']")
    assert whole is not None
    select = whole.find(f".//{{{sch.XSL_NS}}}for-each").get("select")
    assert (
        select == "descendant-or-self::node()/doc/(a/(*[(not(@nil = 'true')) and (not(self::b | self::c[@k = 'v']))])"
        " | d/(*) | e/(*))"
    )
    assert generated.selection((0, 1, 2)) == select  # what pruned_xslt narrows
    xml = b"<doc><a><b/><c k='v'/><c/><f nil='true'/><g/></a><d><h/><i/></d><e><j z='ab'/><l z='a'/></e></doc>"
    parsed = sch.parse_for_saxon(xml)
    walked = sch.compile_schematron(source, use_disk_cache=False, strategy="walk").run(parsed)
    filtered = sch.compile_schematron(source).run(parsed)
    assert [(a.location, a.text) for a in filtered.assertions] == [(a.location, a.text) for a in walked.assertions]
    assert [a.text for a in walked.assertions] == [
        "unexpected c in a",
        "unexpected g in a",
        "second in d: i",
        "long z: j",
    ]
    assert filtered.fired_rules == walked.fired_rules == 4
    for keep in (frozenset({0}), frozenset({0, 2})):
        pruned, reference = (sch.compile_rules(source, keep, strategy=s).run(parsed) for s in ("candidates", "walk"))
        assert [(a.location, a.text) for a in pruned.assertions] == [(a.location, a.text) for a in reference.assertions]
        assert pruned.fired_rules == reference.fired_rules


@pytest.mark.parametrize(
    ("test", "safe"),
    [
        ("not(self::a[@b = 'c'] | self::d)", True),
        ("@x != 'y' and (e or not(f/@g))", True),
        ("1", False),  # a position
        ("position() = 1", False),
        ("@value > 3", False),  # a cast that may fail
        ("@value = 3", False),
        ("current()/@a", False),
        ("hopen:doc('v.xml')//c = @code", False),
        (".//a", False),
    ],
)
def test_safe_step_filters(test: str, safe: bool) -> None:
    assert candidates.safe_test(test) is safe


def test_a_repeated_check_is_shared_unless_it_names_a_variable_of_its_rule() -> None:
    """Pruned stylesheets compile a check repeated in several rules once; a check that reads a variable of
    its own rule stays in the rule (a named template sees the global variables only)."""
    xsl, svrl, hopen = sch.XSL_NS, sch.SVRL_NS, sch.HOPEN_NS
    rule = '<xsl:if test="{test}"><svrl:f n="{n}" location="x">m</svrl:f></xsl:if>'
    templates = [
        f'<xsl:template match="a" hopen:rule="0">{rule.format(test="not(@x)", n=0)}'
        f"{rule.format(test='$v = 1', n=1)}</xsl:template>",
        f'<xsl:template match="b" hopen:rule="1"><xsl:variable name="v" select="2"/>'
        f"{rule.format(test='not(@x)', n=2)}{rule.format(test='$v = 1', n=3)}</xsl:template>",
        f'<xsl:template match="c" hopen:rule="2">{rule.format(test="$v = 1", n=4)}</xsl:template>',
    ]
    sheet = etree.fromstring(
        f'<xsl:stylesheet xmlns:xsl="{xsl}" xmlns:svrl="{svrl}" xmlns:hopen="{hopen}" version="3.0">'
        f'<xsl:variable name="v" select="1"/>{"".join(templates)}</xsl:stylesheet>'
    )
    assert sch._share_repeated_checks(sheet) == 2  # not(@x) in a, b; the global $v = 1 in a, c
    rules = {t.get("match"): t for t in sheet.findall(f"{{{xsl}}}template") if t.get("match")}
    calls = {
        m: [c.find(f"{{{xsl}}}with-param").get("select") for c in t.iter(f"{{{xsl}}}call-template")]
        for m, t in rules.items()
    }
    assert calls == {"a": ["0", "1"], "b": ["2"], "c": ["4"]}
    assert [i.get("test") for i in rules["b"].iter(f"{{{xsl}}}if")] == ["$v = 1"]  # its own $v: kept in place


def test_a_pruned_stylesheet_selects_only_what_its_kept_rules_can_match(tmp_path: Path, cache: Path) -> None:
    """A pattern's candidate selection is narrowed to the routes of the rules a pruned stylesheet keeps (a
    smaller expression for Saxon to compile): the same rules fire on the same nodes as in the walk."""
    source = _write(
        tmp_path,
        "three.sch",
        f"""<schema {SCH} queryBinding="xslt2"><pattern id="p">
  <rule context="doc/a"><assert test="false()">a</assert></rule>
  <rule context="doc/b[@x]/c"><assert test="false()">c under b <value-of select="../@x"/></assert></rule>
  <rule context="doc/*"><report test="true()">other <name/></report></rule>
</pattern></schema>""",
    )
    generated = sch.generated_xslt(source)
    whole = etree.fromstring(generated.xslt.encode()).find(f"{{{sch.XSL_NS}}}template[@match='/']")
    assert whole is not None
    assert whole.find(f".//{{{sch.XSL_NS}}}apply-templates").get("select") == candidates.routes_expression(
        route for routes in generated.rules for route in routes or ()
    )
    parsed = sch.parse_for_saxon(b"<doc><a/><b x='1'><c/></b><b><c/></b><d/></doc>")
    for keep in (frozenset({0}), frozenset({1}), frozenset({2}), frozenset({0, 2}), frozenset({1, 2})):
        narrowed = etree.fromstring(sch.pruned_xslt(generated.xslt, keep, generated).encode())
        select = narrowed.find(f"{{{sch.XSL_NS}}}template[@match='/']//{{{sch.XSL_NS}}}apply-templates").get("select")
        kept = [route for number in sorted(keep) for route in generated.rules[number] or ()]
        assert select == candidates.routes_expression(kept)
        pruned, walked = (sch.compile_rules(source, keep, strategy=s).run(parsed) for s in ("candidates", "walk"))
        assert [(a.location, a.text) for a in pruned.assertions] == [(a.location, a.text) for a in walked.assertions]
        assert pruned.fired_rules == walked.fired_rules
    assert "c under b 1" in [a.text for a in sch.compile_rules(source, frozenset({1})).run(parsed).assertions]
