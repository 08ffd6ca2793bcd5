"""IMAP for the MSSanté channel: Debian's Dovecot, started by the harness on 127.0.0.1 with its own configuration
in a private folder, STARTTLS required (LOGINDISABLED before TLS), TLS 1.2 with the configured suites,
bounded (login processes, connections per user and address, idle time). The harness seeds mailboxes by
writing Maildir files (what a delivery agent does) and reads back what the system did: a message the system
fetched is marked seen (`:2,S`), and the log says how each login was protected.

    with DovecotImap(cert, key, users={"bal@hopital.test": "secret"}) as imap:
        imap.deliver("bal@hopital.test", mdn_bytes)      # the system must fetch it
        imap.wait_seen("bal@hopital.test", timeout=20)
        imap.logins()                                   # [Login(user=..., tls=True, method="PLAIN"), ...]
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from conformance.transport.smtp import MSSANTE_CIPHERS

DOVECOT = "dovecot"
_LOGIN = re.compile(r"imap-login: (?:Info: )?Login: user=<(?P<user>[^>]*)>, method=(?P<method>[\w-]+)")
_PLAINTEXT = re.compile(r"imap-login: (?:Info: )?Login failed: Plaintext authentication disabled")


class ImapUnavailable(RuntimeError):
    """Dovecot is not installed or would not start: the IMAP tests are inconclusive, never failed."""


@dataclass
class Login:
    user: str
    method: str
    tls: bool


def dovecot_available() -> bool:
    return shutil.which(DOVECOT) is not None or Path("/usr/sbin/dovecot").exists()


def _free_port(host: str) -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def mail_owner() -> tuple[int, int]:
    """Dovecot never serves mail as root: as root, the mailboxes belong to Debian's `dovecot` user."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    import pwd

    entry = pwd.getpwnam("dovecot")
    return entry.pw_uid, entry.pw_gid


def _config(folder: Path, host: str, port: int, cert: Path, key: Path, max_connections: int, idle: float) -> str:
    uid, gid = mail_owner()
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
instance_name = hopen-imap-{port}
protocols = imap
listen = {host}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
ssl_cipher_list = {":".join(MSSANTE_CIPHERS)}
ssl_prefer_server_ciphers = yes
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_verbose = yes
login_greeting = hopen-conformance MSSante IMAP
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:~/Maildir
mail_max_userip_connections = {max_connections}
imap_idle_notify_interval = 2 mins
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_limit = {max_connections}
  client_limit = {max_connections}
}}
service imap {{
  process_limit = {max_connections}
}}
service anvil {{
  chroot =
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
default_idle_kill = {max(1, int(idle))} secs
"""


class DovecotImap:
    def __init__(
        self,
        cert: Path,
        key: Path,
        users: dict[str, str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections: int = 8,
        idle_timeout: float = 30.0,
        start_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.users = dict(users)
        self.cert, self.key = Path(cert), Path(key)
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.start_timeout = start_timeout
        self.folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> DovecotImap:
        binary = shutil.which(DOVECOT) or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            raise ImapUnavailable("dovecot introuvable (paquet Debian dovecot-imapd)")
        self.folder = Path(tempfile.mkdtemp(prefix="hopen-imap-"))
        self.folder.chmod(0o755)  # the login processes run as dovenull and must reach the sockets
        for sub in ("run", "state", "mail"):
            (self.folder / sub).mkdir()
        users = "".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in self.users.items())
        (self.folder / "users").write_text(users, encoding="utf-8")
        conf = self.folder / "dovecot.conf"
        conf.write_text(
            _config(self.folder, self.host, self.port, self.cert, self.key, self.max_connections, self.idle_timeout),
            encoding="utf-8",
        )
        uid, gid = mail_owner()
        for user in self.users:
            for box in ("new", "cur", "tmp"):
                (self.folder / "mail" / user / "Maildir" / box).mkdir(parents=True, exist_ok=True)
        for path in (self.folder / "mail", *(self.folder / "mail").rglob("*")):
            os.chown(path, uid, gid)
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = (self._process.stderr.read() if self._process.stderr else b"").decode("utf-8", "replace")
                self.stop()
                raise ImapUnavailable(f"dovecot s'est arrêté au démarrage : {error.strip()[:300]}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.settimeout(1.0)
                if sock.recv(64).startswith(b"* OK"):
                    return self
            time.sleep(0.05)
        self.stop()
        raise ImapUnavailable(f"dovecot n'écoute pas sur {self.host}:{self.port} après {self.start_timeout:g} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> DovecotImap:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- mailboxes
    def _maildir(self, user: str) -> Path:
        if self.folder is None:
            raise RuntimeError("the IMAP server is not started")
        return self.folder / "mail" / user / "Maildir"

    def deliver(self, user: str, data: bytes) -> str:
        """Put a message in the user's INBOX (tmp then new, as a delivery agent does); returns its unique name."""
        maildir = self._maildir(user)
        name = f"{int(time.time())}.{uuid.uuid4().hex}.hopen"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(data.replace(b"\r\n", b"\n"))
        uid, gid = mail_owner()
        os.chown(tmp, uid, gid)
        tmp.rename(maildir / "new" / name)
        return name

    def seen(self, user: str, name: str) -> bool:
        """Whether the client fetched the message (Dovecot moved it to cur/ and flagged it \\Seen)."""
        for path in (self._maildir(user) / "cur").glob(f"{name}*"):
            flags = path.name.partition(":2,")[2]
            if "S" in flags:
                return True
        return False

    def wait_seen(self, user: str, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.seen(user, name):
                return True
            time.sleep(0.1)
        return self.seen(user, name)

    def log(self) -> str:
        if self.folder is None:
            return ""
        path = self.folder / "dovecot.log"
        return path.read_text("utf-8", "replace")[-200_000:] if path.exists() else ""

    def logins(self) -> list[Login]:
        return [
            Login(m.group("user"), m.group("method"), ", TLS," in line or line.rstrip().endswith(", TLS"))
            for line in self.log().splitlines()
            if (m := _LOGIN.search(line))
        ]

    def plaintext_attempts(self) -> int:
        """Logins tried before STARTTLS (refused: LOGINDISABLED / PRIVACYREQUIRED)."""
        return sum(1 for line in self.log().splitlines() if _PLAINTEXT.search(line))
