"""MariaDB (Debian's `mariadb-server`) for projects with MySQL sources, on loopback TCP with a ROW binlog.

`warehouse up` starts it next to PostgreSQL when a project reads a MySQL source, so the Flink mysql-cdc
connector has a real binlog to follow. Its data lives under the stack's home and outlives `down`.

Administration never needs a password: the server's root account authenticates over the unix socket by the
OS user (unix_socket), as Debian sets it up. The CDC user's password goes to the server only as its
mysql_native_password hash, in SQL over that socket, with the binlog off for the session: it is never in a
command line, a file we write, or the server's logs.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from warehouse.embedded.processes import environment, port_open, tail, wait_until
from warehouse.errors import StackError
from warehouse.secrets import MYSQL_USER

if TYPE_CHECKING:
    import pymysql.connections


SERVER_ID = 1  # the server's own id (CDC readers take other ids)
OS_USER = "mysql"  # MariaDB refuses to run as root; Debian's package creates this user
PACKAGE = "mariadb-server"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
INSTALL_DB_TIMEOUT = 300.0
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes on Linux, with its terminating NUL
CDC_HOSTS = ("127.0.0.1", "localhost")  # TCP from loopback (names are not resolved), and the unix socket
CDC_PRIVILEGES = (
    "SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES, "
    "CREATE, ALTER, DROP, INSERT, UPDATE, DELETE, INDEX"
)


def install_mariadb(progress: Callable[[str], None]) -> Path:
    """Path of mariadbd. MariaDB is a system package (no wheel ships it): as root we install it, otherwise
    the user must, since only they can decide to run apt with sudo."""
    found = _find("mariadbd")
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise StackError(
            "MariaDB is needed for the project's MySQL source, and mariadbd is not installed",
            hint=f"run `sudo apt-get install -y {PACKAGE}`, then `warehouse up` again",
        )
    progress(f"installing MariaDB (apt-get install -y {PACKAGE}); this takes a minute")
    _apt_install()
    found = _find("mariadbd")
    if found is None:
        raise StackError(f"apt-get installed {PACKAGE} but mariadbd is still missing", hint="check the package")
    return found


def _apt_install() -> None:
    """`apt-get install`, refreshing the package lists once when they are empty or stale (fresh containers)."""
    env = environment(DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", PACKAGE]
    result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise StackError(
            f"`apt-get install -y {PACKAGE}` failed:\n{output}", hint=f"install {PACKAGE} yourself and retry"
        )


def _find(program: str) -> Path | None:
    """A program on PATH or in the sbin folders, which a non-root PATH often lacks."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/bin"])
    found = shutil.which(program, path=path)
    return Path(found) if found else None


def native_password_hash(password: str) -> str:
    """What `PASSWORD()` computes (mysql_native_password): the server stores it, and it is all it needs."""
    inner = hashlib.sha1(password.encode()).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


@dataclass(frozen=True)
class EmbeddedMariaDB:
    home: Path
    port: int

    @property
    def root(self) -> Path:
        return self.home / "mariadb"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "mariadb.log"

    @property
    def socket(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self.root / "mariadbd.pid"

    def pid(self) -> int | None:
        """The server's pid if this data directory's server is running (its pid file names a live mariadbd)."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
            process = psutil.Process(pid)
            ours = f"--datadir={self.data_dir}" in process.cmdline()  # not a reused pid, nor another server
            return pid if ours and process.status() != psutil.STATUS_ZOMBIE else None
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def start(self, password: str) -> None:
        """Initialise the data folder once, start the server unless it runs, then make sure the CDC user has
        `password` (which may have changed since the user was made)."""
        if self.pid() is None:
            mariadbd = _find("mariadbd")
            if mariadbd is None:
                raise StackError("mariadbd is not installed", hint=f"run `apt-get install -y {PACKAGE}`")
            self._install_db_once()
            self._launch(mariadbd)
        self.ensure_user(password)

    def stop(self) -> bool:
        """SIGTERM is MariaDB's graceful shutdown; False when it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        _terminate(pid)
        return True

    def command(self, mariadbd: Path) -> list[str]:
        """The server's command line. `--no-defaults` (it must come first): Debian's /etc/mysql files are for
        the system server and would, for one, point it at /var/lib/mysql."""
        binlog = self.data_dir / "binlog"
        return [
            str(mariadbd),
            "--no-defaults",
            *self._as_user(),
            f"--datadir={self.data_dir}",
            f"--pid-file={self.pid_file}",
            f"--socket={self.socket}",
            f"--log-error={self.log}",
            "--bind-address=127.0.0.1",
            f"--port={self.port}",
            f"--log-bin={binlog}",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            f"--server-id={SERVER_ID}",
            "--expire-logs-days=2",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--default-time-zone=+00:00",
        ]

    def ensure_user(self, password: str) -> None:
        """The CDC user with `password` and its grants; idempotent. The binlog is off for this session: user
        management is no change a CDC reader should see (and would carry the password's hash)."""
        verifier = native_password_hash(password)
        with self._admin() as conn, conn.cursor() as cursor:
            cursor.execute("SET SESSION sql_log_bin = 0")
            for host in CDC_HOSTS:
                account = f"'{MYSQL_USER}'@'{host}'"
                cursor.execute(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY PASSWORD %s", [verifier])
                cursor.execute(f"ALTER USER {account} IDENTIFIED BY PASSWORD %s", [verifier])
                cursor.execute(f"GRANT {CDC_PRIVILEGES} ON *.* TO {account}")

    def _admin(self) -> pymysql.connections.Connection:
        """The server's administrator over the unix socket, with no password: unix_socket authentication
        admits the OS user mariadb-install-db named (root as root, else the user who runs the stack)."""
        import pymysql

        try:
            return pymysql.connect(
                unix_socket=str(self.socket), user=_os_user_name(), autocommit=True, charset="utf8mb4"
            )
        except pymysql.MySQLError as exc:
            raise StackError(
                f"cannot administer MariaDB over {self.socket}: {exc}",
                hint=f"the data folder {self.data_dir} was made by another OS user; remove it to start afresh",
            ) from None

    def _install_db_once(self) -> None:
        """mariadb-install-db into a side folder renamed into place when done: a data folder that exists is a
        complete one (the stack takes it to mean the project uses MariaDB)."""
        if self.data_dir.exists():
            return
        self._check_socket_path()
        fresh = self.root / "data.init"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        self.log.touch()
        self._hand_over(self.root)
        with self.log.open("ab") as sink:
            result = subprocess.run(
                self._install_db_command(fresh),
                env=environment(),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_DB_TIMEOUT,
            )
        if result.returncode != 0:
            raise StackError(f"mariadb-install-db failed; {self.log}:\n{tail(self.log)}", hint="read the log above")
        fresh.rename(self.data_dir)

    def _install_db_command(self, data_dir: Path) -> list[str]:
        install_db = _find("mariadb-install-db") or _find("mysql_install_db")
        if install_db is None:
            raise StackError("mariadb-install-db is not installed", hint=f"run `apt-get install -y {PACKAGE}`")
        return [
            str(install_db),
            "--no-defaults",
            *self._as_user(),
            f"--datadir={data_dir}",
            "--auth-root-authentication-method=socket",
            f"--auth-root-socket-user={_os_user_name()}",
            "--skip-test-db",
            "--skip-name-resolve",
        ]

    def _launch(self, mariadbd: Path) -> None:
        """Start the server in its own session (it outlives this command) and wait until it answers on both
        its TCP port and its socket; a server that exits meanwhile fails at once, with its log."""
        self._check_socket_path()
        self.log.touch()
        self._hand_over(self.log)
        with self.log.open("ab") as sink:
            process = subprocess.Popen(
                self.command(mariadbd),
                env=environment(),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(lambda: self._answering(process), "MariaDB", START_TIMEOUT, self.log)
        except StackError:
            process.kill()
            raise

    def _answering(self, process: subprocess.Popen[bytes]) -> bool:
        if process.poll() is not None:
            raise StackError(
                f"MariaDB exited (code {process.returncode}) instead of starting on port {self.port}; "
                f"{self.log}:\n{tail(self.log)}",
                hint="read the log above; another server may hold the port or the data directory",
            )
        return self.socket.exists() and port_open("127.0.0.1", self.port)

    def _check_socket_path(self) -> None:
        if len(os.fsencode(self.socket)) > SOCKET_PATH_MAX:
            raise StackError(
                f"the MariaDB socket path {self.socket} is longer than unix sockets allow ({SOCKET_PATH_MAX})",
                hint="set a shorter `home` in profiles.yml",
            )

    def _as_user(self) -> list[str]:
        return [f"--user={OS_USER}"] if os.geteuid() == 0 else []

    def _hand_over(self, path: Path) -> None:
        """As root, let the server's OS user own its folder (or file) and reach it through the parents."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam(OS_USER)  # created by Debian's package
        except KeyError:
            raise StackError(f"there is no OS user {OS_USER} to run MariaDB", hint=f"reinstall {PACKAGE}") from None
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(item, entry.pw_uid, entry.pw_gid)
        for parent in path.parents:
            parent.chmod(parent.stat().st_mode | 0o011)


def _os_user_name() -> str:
    """The OS user unix_socket authentication sees for this process (by uid, not $USER)."""
    return pwd.getpwuid(os.geteuid()).pw_name


def _terminate(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(STOP_TIMEOUT)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.Error:
        pass
