"""MLLP peers nobody on the product wrote: a PAM FR / CI-SIS receiver and an emitting SIH.

Written from HL7 v2.5 ch. 2 (MLLP framing, §2.9 original-mode acknowledgements: MSA-1 AA / AE / AR, MSA-2 = the
message's MSH-10, sender and receiver swapped), IHE PAM France 2.11 (MSH-12 = 2.5^FRA^2.11, the ITI-31 movements
carry ZBE, the INS in PID-3 under the 1.2.250.1.213.1.4.x authorities with type INS, PID-32 = VALI) and the CI-SIS
"transmission de documents CDA en HL7 v2" volet (ORU^R01: the CDA in OBX-5 as ^TEXT^XML^Base64^...), as the
facts sheet in the shared folder summarises them, and from the ANS sample messages. Plain sockets and string
handling: nothing of the product's ER7, MLLP or message-factory code.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from datetime import datetime

from tests.foreign import fhir_server as data

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_FRAME = 20_000_000

RECEIVER_FAULTS: dict[str, str] = {
    "ack-msa2-own-id": "pam.ack.accepted",  # MSA-2 carries the ACK's own control id
    "ack-not-swapped": "pam.ack.accepted",  # MSH-3/4 of the ACK copy the message's, not MSH-5/6
    "ack-type-adt": "pam.ack.accepted",  # ACK answered as MSH-9 = ADT^A01
    "ack-ca-original-mode": "pam.ack.accepted",  # CA in original mode (MSH-15/16 empty)
    "rejects-z99": "pam.ack.accepted",  # Z99 (movement update) not supported: AR
    "rejects-a40": "pam.ack.accepted",  # merge not supported: AE
    "accepts-missing-zbe": "pam.ack.rejected",  # no ZBE check: AA
    "accepts-old-version": "pam.ack.rejected",  # no MSH-12 check: AA for 2.1
    "reject-without-err": "pam.ack.rejected",  # AE without ERR segment
    "reject-err-without-code": "pam.ack.rejected",  # ERR with the location only (no ERR-3 error code)
    "rejects-mdm": "cisis.hl7v2.accepted",  # MDM^T02 answered AR (only ORU implemented)
}
SENDER_FAULTS: dict[str, str] = {
    "emit-ins-nir-prod-oid": "pam.emit.ins",  # test INS under the production authority 1.2.250.1.213.1.4.8
    "emit-ins-type-ni": "pam.emit.ins",  # PID-3 INS with identifier type NI instead of INS
    "emit-no-zbe": "pam.emit.profile",  # the A01 carries no ZBE
    "emit-msh12-plain": "pam.emit.profile",  # MSH-12 = 2.5 without FRA^2.11
    "emit-pv1-2-missing": "pam.emit.profile",  # PV1-2 (patient class) empty
    "emit-a08-update": "pam.emit.profile",  # an identity update sent as A08 (excluded by PAM FR: A31)
    "emit-zbe-update-on-a03": "pam.emit.profile",  # the discharge's ZBE-4 = UPDATE (only Z99 may update)
    "emit-oru-no-msh21": "cisis.hl7v2.emit-profile",  # the ORU's MSH-21 (2.1^CISIS_CDA_HL7_V2) left out
    "emit-oru-hex": "cisis.hl7v2.obx-base64",  # the CDA in OBX-5 as hexadecimal declared Base64
    "emit-oru-encoding-a": "cisis.hl7v2.obx-base64",  # OBX-5.4 = A (plain text)
}


def frame(message: str) -> bytes:
    return VT + message.encode("utf-8") + FS + CR


def read_frame(conn: socket.socket, timeout: float = 30.0) -> bytes | None:
    conn.settimeout(timeout)
    buffer = b""
    while FS + CR not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
        if len(buffer) > MAX_FRAME:
            return None
    start = buffer.find(VT)
    return buffer[start + 1 : buffer.index(FS + CR)]


def _now() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S")


def _fields(segment: str) -> list[str]:
    """fields[n] is SEG-n (MSH-1 included for MSH)."""
    parts = segment.split("|")
    return ["MSH", "|", *parts[1:]] if parts[0] == "MSH" else parts


def _get(fields: list[str], n: int) -> str:
    return fields[n] if n < len(fields) else ""


# ---------------------------------------------------------------------------------------------- receiver

ITI31 = {"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A11", "A12", "A13", "A21", "A22", "A38", "A44", "A52",
         "A53", "A54", "A55", "Z99"}  # fmt: skip
ITI30 = {"A28", "A31", "A40", "A47"}


class ForeignReceiver:
    """The system's HL7 v2 receiver: checks the header, PID, ZBE for movements, and acknowledges."""

    def __init__(self, fault: str | None = None) -> None:
        if fault is not None and fault not in RECEIVER_FAULTS:
            raise KeyError(fault)
        self.fault = fault
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.address = ("127.0.0.1", self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._counter = 0
        self._thread = threading.Thread(target=self._serve, name="foreign-mllp-receiver", daemon=True)

    def __enter__(self) -> ForeignReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            while not self._stop.is_set():
                try:
                    payload = read_frame(conn)
                except (TimeoutError, OSError):
                    return
                if payload is None:
                    return
                conn.sendall(frame(self.acknowledge(payload.decode("utf-8", "replace"))))

    def _problem(self, segments: dict[str, list[str]], event: str, kind: str) -> tuple[str, str, str] | None:
        """(MSA-1, ERR-2, ERR-3) for the first problem found, else None."""
        msh = segments["MSH"]
        version = _get(msh, 12).split("^")[0]
        fault = self.fault
        if kind == "MDM" and fault == "rejects-mdm":
            return "AR", "MSH^1^9", "200^Unsupported message type^HL70357"
        if kind not in ("ADT", "ORU", "MDM"):
            return "AR", "MSH^1^9", "200^Unsupported message type^HL70357"
        if not version.startswith("2.5") and not version.startswith("2.6") and fault != "accepts-old-version":
            return "AR", "MSH^1^12", "203^Unsupported version id^HL70357"
        if kind == "ADT":
            if event not in ITI31 | ITI30:
                return "AR", "MSH^1^9^1^2", "201^Unsupported event code^HL70357"
            if event == "Z99" and fault == "rejects-z99":
                return "AR", "MSH^1^9^1^2", "201^Unsupported event code^HL70357"
            if event == "A40" and fault == "rejects-a40":
                return "AE", "MSH^1^9^1^2", "201^Unsupported event code^HL70357"
        if "PID" not in segments:
            return "AE", "PID^1", "100^Segment sequence error^HL70357"
        if kind == "ADT" and event in ITI31 and "ZBE" not in segments and fault != "accepts-missing-zbe":
            return "AE", "ZBE^1", "100^Segment sequence error^HL70357"
        return None

    def acknowledge(self, message: str) -> str:
        lines = [s for s in message.replace("\n", "\r").split("\r") if s]
        segments: dict[str, list[str]] = {}
        for line in lines:
            segments.setdefault(line[:3], _fields(line))
        msh = segments.get("MSH")
        if msh is None:
            msh = _fields("MSH|^~\\&|||||||||2.5")
            segments["MSH"] = msh
        kind, _, rest = _get(msh, 9).partition("^")
        event = rest.split("^")[0]
        problem = self._problem(segments, event, kind) if "MSH" in segments else None
        self._counter += 1
        control = f"TS{self._counter:06d}"
        sender = (_get(msh, 3), _get(msh, 4)) if self.fault == "ack-not-swapped" else (_get(msh, 5), _get(msh, 6))
        receiver = (_get(msh, 3), _get(msh, 4)) if self.fault != "ack-not-swapped" else (_get(msh, 5), _get(msh, 6))
        # the message's version when supported, else ours (HL7 v2.5 §2.9.2: AR for an unsupported version)
        version = _get(msh, 12) if _get(msh, 12).startswith(("2.5", "2.6")) else "2.5"
        ack_type = f"ADT^{event}" if self.fault == "ack-type-adt" else f"ACK^{event}^ACK"
        header = ["MSH", "^~\\&", *sender, *receiver, _now(), "", ack_type, control, _get(msh, 11) or "P",
                  version, "", "", "", "", _get(msh, 17), _get(msh, 18)]  # fmt: skip
        while header[-1] == "":
            header.pop()
        code = problem[0] if problem else ("CA" if self.fault == "ack-ca-original-mode" else "AA")
        echoed = control if self.fault == "ack-msa2-own-id" else _get(msh, 10)
        out = ["|".join(header), f"MSA|{code}|{echoed}"]
        if problem and self.fault == "reject-err-without-code":
            out.append(f"ERR||{problem[1]}")
        elif problem and self.fault != "reject-without-err":
            out.append(f"ERR||{problem[1]}|{problem[2]}|E")
        return "\r".join(out) + "\r"


# ---------------------------------------------------------------------------------------------- sender


class ForeignSender:
    """The SIH emitting to the harness's listener: an admission, a transfer, a discharge and a CDA by ORU^R01.

    It tries the listener every half second (a real interface engine retries its link) and sends once."""

    def __init__(self, port: int, fault: str | None = None, host: str = "127.0.0.1") -> None:
        if fault is not None and fault not in SENDER_FAULTS:
            raise KeyError(fault)
        self.fault = fault
        self.target = (host, port)
        self.acks: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="foreign-mllp-sender", daemon=True)

    def __enter__(self) -> ForeignSender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        messages = self.messages()
        while not self._stop.is_set():
            try:
                with socket.create_connection(self.target, timeout=2) as conn:
                    for message in messages:
                        conn.sendall(frame(message))
                        ack = read_frame(conn)
                        self.acks.append((ack or b"").decode("utf-8", "replace"))
                return
            except OSError:
                time.sleep(0.5)

    # ------------------------------------------------------------------ messages

    def _msh(self, control: str, message_type: str, version: str, profile: str) -> str:
        return (f"MSH|^~\\&|TIERS_GAM|CHTIERS|HOPEN_CONFORMANCE|HOPEN|{_now()}||{message_type}|{control}|P|{version}"
                f"|||||FRA|UNICODE UTF-8|FR||{profile}")  # fmt: skip

    def _pid(self) -> str:
        oid = "1.2.250.1.213.1.4.8" if self.fault == "emit-ins-nir-prod-oid" else data.INS_OID
        authority = "ASIP-SANTE-INS-NIR" if self.fault == "emit-ins-nir-prod-oid" else "ASIP-SANTE-INS-NIR-TEST"
        kind = "NI" if self.fault == "emit-ins-type-ni" else "INS"
        ipp = "7700011^^^CHTIERS&1.2.250.1.999.1.1&ISO^PI"
        ins = f"{data.INS}^^^{authority}&{oid}&ISO^{kind}"
        pid = [""] * 33
        pid[0], pid[1], pid[3] = "PID", "1", f"{ipp}~{ins}"
        pid[5], pid[7], pid[8] = "PAT-TROIS^DOMINIQUE^DOMINIQUE^^^^L", "19790328", "F"
        pid[11] = "12 rue de Vesle^^REIMS^^51100^FRA^H~^^^^^^BDL^^51215"
        pid[18] = "NDA7700011^^^CHTIERS&1.2.250.1.999.1.1&ISO^AN"
        pid[30], pid[32] = "N", "VALI"
        return "|".join(pid)

    def _pv1(self, patient_class: str = "I") -> str:
        pv1_2 = "" if self.fault == "emit-pv1-2-missing" else patient_class
        return (f"PV1|1|{pv1_2}|UF4701^^^CHTIERS&1.2.250.1.999.1.2&ISO^^^^|R|||||||||||||||"
                "VN7700011^^^CHTIERS&1.2.250.1.999.1.1&ISO^VN|||||||||||||||||||||||||20261202080000")  # fmt: skip

    def _zbe(self, movement: str, action: str, nature: str) -> str:
        uf = "Endocrinologie^^^^^CHTIERS&1.2.250.1.999.1.2&ISO^UF^^^4701"
        return f"ZBE|{movement}^CHTIERS^1.2.250.1.999.1.3^ISO|20261202080000||{action}|N||{uf}|{uf}|{nature}"

    def _adt(self, control: str, event: str, structure: str, movement: str) -> str:
        version = "2.5" if self.fault == "emit-msh12-plain" else "2.5^FRA^2.11"
        segments = [
            self._msh(control, f"ADT^{event}^{structure}", version, "2.11^IHE_FRANCE-2.11-PAM"),
            f"EVN||{_now()}||||20261202080000",
            self._pid(),
            self._pv1(),
        ]
        if not (self.fault == "emit-no-zbe" and event == "A01"):
            action = "UPDATE" if self.fault == "emit-zbe-update-on-a03" and event == "A03" else "INSERT"
            segments.append(self._zbe(movement, action, "HMS" if event == "A01" else "S"))
        return "\r".join(segments) + "\r"

    def _oru(self, control: str) -> str:
        cda = data.CDA_EXAMPLE.read_bytes()
        encoding, payload = "Base64", base64.b64encode(cda).decode("ascii")
        if self.fault == "emit-oru-hex":
            payload = cda.hex()
        if self.fault == "emit-oru-encoding-a":
            encoding = "A"
        meta = [("MASQUE_PS", "N"), ("INVISIBLE_PATIENT", "N"), ("INVISIBLE_REP_LEGAUX", "N"),
                ("CONNEXION_SECRETE", "N"), ("MODIF_CONF_CODE", "N"), ("DESTDMP", "Y"), ("DESTMSSANTEPS", "N"),
                ("DESTMSSANTEPAT", "N")]  # fmt: skip
        segments = [
            self._msh(
                control, "ORU^R01^ORU_R01", "2.5", "" if self.fault == "emit-oru-no-msh21" else "2.1^CISIS_CDA_HL7_V2"
            ),
            self._pid(),
            "PV1|1|I|UF4701||||||||||||||||VN7700011^^^CHTIERS&1.2.250.1.999.1.1&ISO^VN",
            "ORC|NW|CMD77001^TIERS_DPI|DOC77001^TIERS_DPI||||||20261202090000",
            "OBR|1|CMD77001^TIERS_DPI|DOC77001^TIERS_DPI|11502-2^CR d'examens biologiques^LN|||20261202090000"
            "||||||||||||||||||F",
            f"OBX|1|ED|11502-2^CR d'examens biologiques^LN||^TEXT^XML^{encoding}^{payload}||||||F",
            f"PRT||UC||SB^Send by^participation|8{data.RPPS}^SAUCIER^ARTHUR^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO"
            "^D^^^IDNPS",
        ]
        for index, (code, value) in enumerate(meta, start=2):
            segments.append(f"OBX|{index}|CE|{code}^{code}^MetaDMPMSS||{value}^^expandedYes-NoIndicator||||||F")
        return "\r".join(segments) + "\r"

    def messages(self) -> list[str]:
        return [
            self._adt("TS-A01-1", "A01", "ADT_A01", "MVT1"),
            self._adt("TS-A08-1", "A08", "ADT_A01", "MVT2")
            if self.fault == "emit-a08-update"
            else self._adt("TS-A02-1", "A02", "ADT_A02", "MVT2"),
            self._adt("TS-A03-1", "A03", "ADT_A03", "MVT3"),
            self._oru("TS-ORU-1"),
        ]
