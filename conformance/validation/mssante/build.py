"""Build MSSanté document messages (reference client, the harness as correspondent) with the standard library's
`email`: a UTF-8 text body, the IHE_XDM.zip archive, a PDF rendering, the X-MSS-* headers. A conformant spec
gives a conformant message; callers change one field to seed one defect.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, localtime, make_msgid

from lxml import etree

from conformance.validation.cda.header import V3

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_NS = {"cda": V3}


@dataclass
class MessageSpec:
    sender: str
    sender_name: str
    recipients: list[str]
    archives: list[bytes]  # IHE_XDM.zip contents
    subject: str
    nil: str | None = "DEV000000"
    ins_header: str | None = "O"
    codecda: str | None = None
    reply_to: str | None = None
    mdn_to: str | None = None
    message_id: bool = True
    text: str = "Bonjour,\n\nVeuillez trouver ci-joint le document concernant votre patient.\n\nCordialement.\n"
    text_charset: str = "utf-8"
    pdf_name: str | None = None
    pdf: bytes | None = None
    mes: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def build_message(spec: MessageSpec) -> bytes:
    msg = EmailMessage()
    msg["From"] = formataddr((spec.sender_name, spec.sender)) if spec.sender_name else spec.sender
    msg["To"] = ", ".join(spec.recipients)
    msg["Date"] = format_datetime(localtime())
    if spec.message_id:
        msg["Message-ID"] = make_msgid(domain=spec.sender.rpartition("@")[2] or "mssante.test")
    msg["Subject"] = spec.subject
    if spec.reply_to:
        msg["Reply-To"] = spec.reply_to
    if spec.mdn_to:
        msg["Disposition-Notification-To"] = spec.mdn_to
    for name, value in (
        ("X-MSS-NIL", spec.nil),
        ("X-MSS-INS", spec.ins_header),
        ("X-MSS-CODECDA", spec.codecda),
        ("X-MSS-MES", spec.mes),
    ):
        if value is not None:
            msg[name] = value
    for name, value in spec.extra_headers.items():
        msg[name] = value
    if spec.text_charset.lower() == "utf-8":
        msg.set_content(spec.text, charset="utf-8")
    else:  # a defective client: a legacy charset, declared as such
        msg.set_content(spec.text.encode(spec.text_charset), maintype="text", subtype="plain", cte="quoted-printable")
        msg.set_param("charset", spec.text_charset)
    for number, archive in enumerate(spec.archives):
        name = "IHE_XDM.zip" if number == 0 else f"IHE_XDM_{number + 1}.zip"
        msg.add_attachment(archive, maintype="application", subtype="zip", filename=name)
    if spec.pdf is not None:
        msg.add_attachment(spec.pdf, maintype="application", subtype="pdf", filename=spec.pdf_name or "document.pdf")
    return msg.as_bytes(policy=email.policy.SMTP)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (ASCII): the rendering attached beside the archive."""
    safe = text.encode("ascii", "replace").decode().replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 12 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@dataclass
class CdaFacts:
    code: str
    title: str
    family: str
    given: str
    birth_date: str  # YYYYMMDD
    ins: str
    ins_oid: str
    date: str  # YYYYMMDD of effectiveTime


def cda_facts(cda: bytes) -> CdaFacts:
    root = etree.fromstring(cda, _PARSER)
    patient_role = root.find("cda:recordTarget/cda:patientRole", _NS)

    def text(path: str, base: etree._Element | None = root) -> str:
        node = base.find(path, _NS) if base is not None else None
        return (node.text or "").strip() if node is not None else ""

    def attr(path: str, name: str, base: etree._Element | None = root) -> str:
        node = base.find(path, _NS) if base is not None else None
        return node.get(name, "") if node is not None else ""

    from conformance.validation.cda.header import INS_OIDS

    ins = next(
        (
            i
            for i in (patient_role.findall("cda:id", _NS) if patient_role is not None else [])
            if i.get("root") in INS_OIDS
        ),
        None,
    )
    return CdaFacts(
        code=attr("cda:code", "code"),
        title=text("cda:title"),
        family=text("cda:patient/cda:name/cda:family", patient_role),
        given=(text("cda:patient/cda:name/cda:given", patient_role).split() or [""])[0],
        birth_date=attr("cda:patient/cda:birthTime", "value", patient_role)[:8],
        ins=ins.get("extension", "") if ins is not None else "",
        ins_oid=ins.get("root", "") if ins is not None else "",
        date=attr("cda:effectiveTime", "value")[:8],
    )


def retarget_cda(cda: bytes, *, ins: str, oid: str, family: str, given: str, birth_date: str) -> bytes:
    """The same document about another patient: INS, names and birth date of the recordTarget replaced."""
    root = etree.fromstring(cda, _PARSER)
    role = root.find("cda:recordTarget/cda:patientRole", _NS)
    if role is None:
        raise ValueError("CDA without recordTarget/patientRole")
    from conformance.validation.cda.header import INS_OIDS

    old = ""
    for ident in role.findall("cda:id", _NS):
        if ident.get("root") in INS_OIDS:
            old = ident.get("extension", "")
            ident.set("extension", ins)
            ident.set("root", oid)
    for telecom in role.findall("cda:telecom", _NS):
        if old and old in telecom.get("value", ""):
            telecom.set("value", telecom.get("value", "").replace(old, ins))
    for family_node in role.findall("cda:patient/cda:name/cda:family", _NS):
        family_node.text = family
    for number, given_node in enumerate(role.findall("cda:patient/cda:name/cda:given", _NS)):
        given_node.text = given if number else f"{given}"
    birth = role.find("cda:patient/cda:birthTime", _NS)
    if birth is not None and birth_date:
        birth.set("value", birth_date.replace("-", ""))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def subject_for(facts: CdaFacts) -> str:
    """XDM/1.0/DDM+<libellé> <NOM> <prénom> <date de naissance JJ/MM/AAAA>."""
    birth = (
        f"{facts.birth_date[6:8]}/{facts.birth_date[4:6]}/{facts.birth_date[:4]}" if len(facts.birth_date) == 8 else ""
    )
    return " ".join(p for p in (f"XDM/1.0/DDM+{facts.title}", facts.family.upper(), facts.given, birth) if p)


def pdf_name_for(facts: CdaFacts, kind: str) -> str:
    """<date de l'acte>_<type de document>_<NOM>_<prénom>.pdf"""
    return f"{facts.date}_{kind}_{facts.family.upper()}_{facts.given}.pdf"
