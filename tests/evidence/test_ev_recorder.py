"""EvidenceRecorder: immediate per-exchange files, attached to tests, bodies inline or beside, binary withheld."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.evidence.exchange import HttpExchange, HttpRequestRecord, HttpResponseRecord, MllpFrame, utc_now
from conformance.evidence.recorder import EvidenceRecorder, slugify_test_id


def _exchange(body: bytes = b'{"resourceType":"Patient"}', content_type: str = "application/fhir+json") -> HttpExchange:
    now = utc_now()
    return HttpExchange(
        HttpRequestRecord("GET", "http://127.0.0.1:1/fhir/Patient/1", {"Accept": "application/fhir+json"}),
        HttpResponseRecord(200, "OK", {"Content-Type": content_type}, body),
        now,
        now,
    )


def test_each_record_is_on_disk_before_the_test_ends(tmp_path: Path) -> None:
    recorder = EvidenceRecorder(tmp_path)
    recorder.begin_test("suite/group/test-a")
    recorder.record(_exchange())
    folder = tmp_path / "evidence" / slugify_test_id("suite/group/test-a")
    assert sorted(p.name for p in folder.iterdir()) == ["001-http.json", "001-http.response.json"]
    recorder.record(MllpFrame("sent", "127.0.0.1:1", "127.0.0.1:2", b"MSH|^~\\&|A\r", utc_now()))
    recorder.record(MllpFrame("received", "127.0.0.1:1", "127.0.0.1:2", b"", utc_now(), error="peer closed mid-frame"))
    paths = recorder.end_test()
    assert paths == [
        f"evidence/{folder.name}/001-http.response.json",
        f"evidence/{folder.name}/001-http.json",
        f"evidence/{folder.name}/002-mllp-sent.payload.hl7",
        f"evidence/{folder.name}/002-mllp-sent.json",
        f"evidence/{folder.name}/003-mllp-received.json",
    ]
    assert (tmp_path / paths[2]).read_bytes() == b"MSH|^~\\&|A\r"  # the frame's bytes, \r kept
    failed = json.loads((tmp_path / paths[4]).read_text())
    assert failed["error"] == "peer closed mid-frame" and failed["direction"] == "received"
    assert not list(folder.glob(".*.tmp"))


def test_records_outside_a_test_and_failed_http_exchanges_are_kept(tmp_path: Path) -> None:
    recorder = EvidenceRecorder(tmp_path)
    now = utc_now()
    recorder.record(
        HttpExchange(HttpRequestRecord("GET", "http://127.0.0.1:9/x", {}), None, now, now, error="connection refused")
    )
    record = json.loads((tmp_path / "evidence/_run/001-http.json").read_text())
    assert record["response"] is None and record["error"] == "connection refused"


def test_bodies_are_stored_as_the_bytes_exchanged(tmp_path: Path) -> None:
    """SHALL: each body is a file holding the bytes exchanged (not an escaped JSON string), with the extension
    of its media type; the exchange record names it."""
    recorder = EvidenceRecorder(tmp_path)
    recorder.begin_test("t/g/big")
    bundle = b'{"resourceType":"Bundle","x":"' + b"a" * 500 + b'",\n "quote": "\\"' + "é".encode() + b'\\""}'
    recorder.record(_exchange(bundle))
    recorder.record(_exchange(b"PK\x03\x04\x00\x01binary", "application/zip"))
    recorder.record(_exchange(b"<Patient xmlns='http://hl7.org/fhir'/>", "application/fhir+xml"))
    paths = recorder.end_test()
    names = sorted(Path(p).name for p in paths)
    assert names == [
        "001-http.json",
        "001-http.response.json",
        "002-http.json",
        "002-http.response.bin",
        "003-http.json",
        "003-http.response.xml",
    ]
    record = json.loads((tmp_path / next(p for p in paths if p.endswith("001-http.json"))).read_text())
    assert "body" not in record["response"] and record["response"]["body_size"] == len(bundle)
    assert (tmp_path / record["response"]["body_file"]).read_bytes() == bundle
    assert record["response"]["media_type"] == "application/fhir+json"
    assert (tmp_path / next(p for p in paths if p.endswith(".bin"))).read_bytes() == b"PK\x03\x04\x00\x01binary"


def test_binary_bodies_are_withheld_when_pseudonymising(tmp_path: Path) -> None:
    recorder = EvidenceRecorder(tmp_path, pseudonymize=True)
    recorder.begin_test("t/g/zip")
    recorder.record(_exchange(b"PK\x03\x04\x00\x01DESMAREAUX", "application/zip"))
    data = b"".join((tmp_path / p).read_bytes() for p in recorder.end_test())
    assert b"DESMAREAUX" not in data and b"withheld" in data


def test_attachments_are_cleaned_and_listed(tmp_path: Path) -> None:
    recorder = EvidenceRecorder(tmp_path, secrets=["attachment-secret-42"])
    recorder.begin_test("t/g/att")
    path = recorder.attach("t/g/att", "outcome.json", '{"text": "attachment-secret-42"}', "application/fhir+json")
    assert path in recorder.end_test()
    assert b"attachment-secret-42" not in (tmp_path / path).read_bytes()


def test_slugs_are_safe_and_distinct() -> None:
    ids = ["a/b/c", "a/b/c d", "a/b/c?d", "../../etc/passwd", "x" * 300]
    slugs = [slugify_test_id(i) for i in ids]
    assert len(set(slugs)) == len(slugs)
    assert all("/" not in s and not s.startswith(".") and len(s) <= 100 for s in slugs)


def test_attachment_names_the_system_chose_are_bounded_and_never_overwrite(tmp_path: Path) -> None:
    """SHALL: a 300-character name (the write failed: name too long), a path, control characters or the same
    name twice each give their own file inside the test's folder."""
    recorder = EvidenceRecorder(tmp_path)
    names = ["a" * 300 + ".xml", "../../../etc/passwd", "\x1b[2J\x1b[32mOK.xml", "doc.xml", "doc.xml", "", "."]
    paths = [recorder.attach("suite/test", name, f"<doc n='{i}'/>", "text/xml") for i, name in enumerate(names)]
    assert len(set(paths)) == len(names)
    folder = tmp_path / "evidence" / slugify_test_id("suite/test")
    for i, path in enumerate(paths):
        written = tmp_path / path
        assert written.parent == folder and len(written.name) <= 100
        assert written.read_text() == f"<doc n='{i}'/>"
    assert paths[0].endswith(".xml") and "\x1b" not in "".join(paths)
