"""Each test's evidence reads in the HTML report: JSON and XML indented, HL7 v2 one segment per line, a binary
body as its size and media type; the evidence files and results.json stay as they were (sealed)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lxml import html as lxml_html
from support.sample import fabricate_run

from conformance.evidence.exchange import HttpExchange, HttpRequestRecord, HttpResponseRecord, MllpFrame
from conformance.evidence.sealing import verify_run
from conformance.reports import finalize_run
from conformance.reports.evidence_view import evidence_views
from conformance.reports.html import render_html
from conformance.reports.results_json import results_from_file

TEST_ID = "documents/cda/exchanges"
CDA = b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2.3"/><title>CR</title></ClinicalDocument>'
ER7 = b"MSH|^~\\&|SIH|HOP|PAM|HOP|20261125090000||ADT^A01^ADT_A01|42|P|2.5\rEVN||20261125090000\rPID|||123^^^HOP&1.2.3&ISO^PI\r"
PDF = b"%PDF-1.4\n\x00\x01\x02\xff binary pdf body" * 20


def _exchange(body: bytes, media_type: str) -> HttpExchange:
    started = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    request = HttpRequestRecord("GET", "http://127.0.0.1:8080/fhir/Binary/1", {"Accept": "*/*"})
    response = HttpResponseRecord(200, "OK", {"Content-Type": media_type}, body)
    return HttpExchange(request, response, started, started + timedelta(milliseconds=5))


def _run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    run, recorder = fabricate_run(run_dir)
    recorder.begin_test(TEST_ID)
    recorder.record(_exchange(CDA, "application/xml"))
    recorder.record(_exchange(PDF, "application/pdf"))
    recorder.record(MllpFrame("sent", "127.0.0.1:40001", "127.0.0.1:2575", ER7, datetime.now(UTC)))
    paths = recorder.end_test()
    test = next(t for t in run.tests if t.id == "identity/ins/patient-ins-profile")
    test.evidence = [*test.evidence, *paths]
    finalize_run(run_dir, run)
    return run_dir


def _digests(run_dir: Path) -> dict[str, str]:
    files = [p for p in run_dir.rglob("*") if p.is_file() and "report" not in p.name and p.parent.name != "renderings"]
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _views(page: lxml_html.HtmlElement) -> dict[str, lxml_html.HtmlElement]:
    """Evidence link text -> its list item."""
    return {li.xpath("string(a)"): li for li in page.xpath("//ul[@class='evidence']/li[a]")}


def test_evidence_bodies_read_pretty_in_the_report_and_the_sealed_files_do_not_change(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    assert verify_run(run_dir) == []
    page = lxml_html.fromstring((run_dir / "report.html").read_bytes())
    views = _views(page)

    json_body = next(v for k, v in views.items() if "search-by-ins" in k and k.endswith(".response.json"))
    pre = json_body.xpath("string(.//details[@data-kind='json']/pre)")
    assert pre.startswith('{\n  "resourceType": "Bundle",\n  "type": "searchset"'), pre[:80]

    xml_body = next(v for k, v in views.items() if TEST_ID.replace("/", "__") in k and k.endswith(".xml"))
    pre = xml_body.xpath("string(.//details[@data-kind='xml']/pre)")
    assert pre.splitlines()[:3] == [
        '<ClinicalDocument xmlns="urn:hl7-org:v3">',
        '  <id root="1.2.3"/>',
        "  <title>CR</title>",
    ]

    er7 = next(v for k, v in views.items() if k.endswith(".payload.hl7"))
    assert er7.xpath("string(.//details[@data-kind='hl7v2']/pre)").split("\n") == [
        "MSH|^~\\&|SIH|HOP|PAM|HOP|20261125090000||ADT^A01^ADT_A01|42|P|2.5",
        "EVN||20261125090000",
        "PID|||123^^^HOP&1.2.3&ISO^PI",
    ]

    binary = next(v for k, v in views.items() if k.endswith(".bin"))
    assert not binary.xpath(".//pre")
    assert f"{len(PDF)} octets, application/pdf" in binary.xpath("string(.//span[contains(@class, 'evidence-binary')])")

    record = next(v for k, v in views.items() if TEST_ID.replace("/", "__") in k and k.endswith("001-http.json"))
    assert "GET http://127.0.0.1:8080/fhir/Binary/1 → 200 OK" in record.text_content()

    # the views live in the report only: the body stays the compact bytes exchanged, results.json has no view
    raw = (run_dir / json_body.xpath("string(a)")).read_bytes()
    assert raw.startswith(b'{"resourceType": "Bundle", "type": "searchset"')
    assert "Vue lisible" not in (run_dir / "results.json").read_text(encoding="utf-8")
    before = _digests(run_dir)
    render_html(results_from_file(run_dir), "fr", run_dir=run_dir)
    assert _digests(run_dir) == before and verify_run(run_dir) == []


def test_a_hostile_evidence_list_neither_hangs_nor_leaves_the_run_folder(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    results = results_from_file(run_dir)
    outside = tmp_path / "secret.json"
    outside.write_text('{"secret": "outside the run"}', encoding="utf-8")
    fifo = run_dir / "evidence" / "pipe.json"
    os.mkfifo(fifo)
    (run_dir / "evidence" / "link.json").symlink_to(outside)
    results["tests"][0]["evidence"] = ["../secret.json", "evidence/pipe.json", "evidence/link.json", "/etc/passwd"]
    page = lxml_html.fromstring(render_html(results, "en", run_dir=run_dir))
    text = page.text_content()
    assert "outside the run" not in text and "root:" not in text
    assert text.count("file missing or unreadable") >= 4


def _mssante_message() -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "dr.martin@hopital.mssante.fr"
    message["To"] = "secretariat@clinique.mssante.fr"
    message["Subject"] = "Compte rendu d'hospitalisation — séjour 2026"
    message["Disposition-Notification-To"] = "dr.martin@hopital.mssante.fr"
    message.set_content("Bonjour,\nci-joint le compte rendu, accentué : éàç.\n", cte="8bit")
    message.add_attachment(b"PK\x03\x04" + b"\x00" * 300, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    message.add_attachment(b"<x/>", maintype="application", subtype="xml", filename="<b>../../etc/passwd</b>.xml")
    return message.as_bytes()


def test_an_mssante_message_reads_as_headers_mime_parts_and_text(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run, recorder = fabricate_run(run_dir)
    nested = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode() for i in range(3000)
    )
    sent = recorder.attach(TEST_ID, "sent-nominal.eml", _mssante_message(), "message/rfc822")
    wide = b"Content-Type: multipart/mixed; boundary=w\r\n\r\n" + b"--w\r\n\r\nx\r\n" * 1000 + b"--w--\r\n"
    hostile = recorder.attach(TEST_ID, "nested.eml", nested, "message/rfc822")
    many = recorder.attach(TEST_ID, "wide.eml", wide, "message/rfc822")
    test = next(t for t in run.tests if t.id == "identity/ins/patient-ins-profile")
    test.evidence = [*test.evidence, sent, hostile, many]
    finalize_run(run_dir, run)
    page = lxml_html.fromstring((run_dir / "report.html").read_bytes())
    views = _views(page)

    view = views[sent].xpath(".//details[@data-kind='email']")[0]
    headers = {
        tr.xpath("string(th)"): tr.xpath("string(td)") for tr in view.xpath(".//table[@class='email-headers']//tr")
    }
    assert headers["Subject"] == "Compte rendu d'hospitalisation — séjour 2026"  # decoded from its RFC 2047 words
    assert headers["Disposition-Notification-To"] == "dr.martin@hopital.mssante.fr"
    rows = [
        [td.text_content() for td in tr.xpath("td")] for tr in view.xpath(".//table[@class='email-parts']/tbody/tr")
    ]
    assert rows == [
        ["1", "multipart/mixed", "—", "—"],
        ["1.1", "text/plain", "—", rows[1][3]],
        ["1.2", "application/zip", "IHE_XDM.ZIP", "304 octets"],
        ["1.3", "application/xml", "<b>../../etc/passwd</b>.xml", "4 octets"],
    ]
    assert not view.xpath(".//table[@class='email-parts']//b")  # the sender's file name is text, not markup
    assert "accentué : éàç." in view.xpath("string(pre)")  # the text part, UTF-8

    deep = views[hostile].xpath(".//details[@data-kind='email']")[0]  # 3,000 nested parts: the headers, said cut
    assert deep.xpath("string(.//table[@class='email-parts']/tbody/tr[1]/td[2])") == "multipart/mixed"
    assert len(deep.xpath(".//table[@class='email-parts']/tbody/tr")) <= 200
    assert "Vue tronquée" in deep.text_content()
    broad = views[many].xpath(".//details[@data-kind='email']")[0]  # 1,000 parts side by side: the first 200
    assert len(broad.xpath(".//table[@class='email-parts']/tbody/tr")) == 200
    assert "Vue tronquée" in broad.text_content()


def _encoded_text_message(cte: str, body: str) -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.mssante.fr", "b@y.mssante.fr", "CR"
    message.set_content(body, cte=cte)
    return message.as_bytes()


def test_encoded_text_parts_are_shown_as_stored_unless_decoding_cannot_undo_redaction(tmp_path: Path) -> None:
    """The redactor and the pseudonymiser rewrite the stored bytes: a quoted-printable soft line break cuts a long
    token in two (the redactor then misses it), and a base64 text part is not rewritten for patient data; so the
    view shows quoted-printable as stored, and decodes base64 only when the run is not pseudonymised."""
    token = "eyJ" + "A" * 120  # longer than a quoted-printable line: cut by a soft line break
    body = f"Patient : Hélène DURAND-ÉTÉ, jeton {token}\n"
    run_dir = tmp_path / "run"
    run, recorder = fabricate_run(run_dir)
    b64 = recorder.attach(TEST_ID, "b64.eml", _encoded_text_message("base64", body), "message/rfc822")
    qp = recorder.attach(TEST_ID, "qp.eml", _encoded_text_message("quoted-printable", body), "message/rfc822")
    test = next(t for t in run.tests if t.id == "identity/ins/patient-ins-profile")
    test.evidence = [*test.evidence, b64, qp]
    finalize_run(run_dir, run)
    views = _views(lxml_html.fromstring((run_dir / "report.html").read_bytes()))
    shown_qp = views[qp].xpath("string(.//details[@data-kind='email']/pre)")
    assert token not in shown_qp and "=\n" in shown_qp  # as stored: soft line breaks kept
    assert "DURAND-ÉTÉ" in views[b64].xpath("string(.//details[@data-kind='email']/pre)")  # decoded

    # the same file in a pseudonymised run's report (the recorder withholds attached messages there; a message
    # that reached the evidence otherwise): base64 stays as stored
    listed = [{"id": "t", "evidence": [b64]}]
    (shown,) = evidence_views(run_dir, listed, 10, pseudonymized=True)["t"]
    assert shown.kind == "email" and "DURAND" not in (shown.text or "") and shown.text
