"""Pinned, checksummed artifacts: the Flink distribution (PyPI) and the connector jars (Maven Central).

Everything is cached under the profile's `jar_cache`; once cached, nothing touches the network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import ArtifactError

FLINK_VERSION = "1.20.3"
Progress = Callable[[str], None]
CONNECTOR_SOURCES = Path(__file__).parent / "resources" / "flink"
JDK_HINT = "install a JDK (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME to one"


@dataclass(frozen=True)
class MavenJar:
    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str) -> str:
        return f"{repository.rstrip('/')}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"


@dataclass(frozen=True)
class PypiSdist:
    name: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"


FLINK_DISTRIBUTION = PypiSdist(
    "apache-flink-libraries", FLINK_VERSION, "f07f07a46bb272c1e851379ed92105928367019db31240091a5367fc92800289"
)

CONNECTOR_JARS = (
    MavenJar(
        "org.apache.flink",
        "flink-sql-gateway",
        FLINK_VERSION,
        "f80e1c5b7a8a9e0bd57bbde5a56ca6731192acce8cfb1bce43e307a33a417c8f",
    ),
    MavenJar(
        "org.apache.flink",
        "flink-connector-jdbc",
        "3.3.0-1.20",
        "50d243cf0e1aac67c2c81c9fb2e9b32bb7d7124b9594df009efa8122e3df1c75",
    ),
    MavenJar(
        "org.apache.flink",
        "flink-sql-connector-postgres-cdc",
        "3.5.0",
        "8c5b78d279a51676ad27e9730db37477c1cbf6691dd2382c6fa653b3fe293262",
    ),
    # The CDC jar bundles pgjdbc 42.7.3 unrelocated; the same version keeps the duplicate classes identical.
    MavenJar(
        "org.postgresql", "postgresql", "42.7.3", "a2644cbfba1baa145ff7e8c8ef582a6eed7a7ec4ca792f7f054122bdec756268"
    ),
    MavenJar(
        "org.apache.flink",
        "flink-sql-connector-mysql-cdc",
        "3.5.0",
        "aa1946f26be3c831f03e22b3f6b4f2ad70b02878817b8648177c3fe1c8d1f440",
    ),
    # The mysql-cdc jar bundles no JDBC driver; 8.0.33 is the version it is built and tested against.
    MavenJar(
        "com.mysql", "mysql-connector-j", "8.0.33", "e2a3b2fc726a1ac64e998585db86b30fa8bf3f706195b78bb77c5f99bf877bd9"
    ),
)


@dataclass(frozen=True)
class FlinkJars:
    """Where the cached Flink distribution and connectors are."""

    lib: list[Path]
    bash_java_utils: Path

    @property
    def classpath(self) -> str:
        return ":".join(str(p) for p in self.lib)


def ensure_flink(cache: Path, repository: str, progress: Progress, java: Path | None = None) -> FlinkJars:
    """Fetch (or reuse) the Flink distribution and the connector jars, and (given a Java) build the warehouse's
    own connector; return their paths."""
    dist = ensure_distribution(cache, progress)
    connectors = [ensure_jar(jar, cache / "jars", repository, progress) for jar in CONNECTOR_JARS]
    lib = sorted((dist / "lib").glob("*.jar"))
    own = [ensure_warehouse_connector(cache / "jars", lib + connectors, java, progress)] if java else []
    return FlinkJars(lib=lib + connectors + own, bash_java_utils=dist / "bin" / "bash-java-utils.jar")


def warehouse_connector_path(folder: Path) -> Path:
    """Where the warehouse's own connector jar is cached: named after a digest of its sources."""
    digest = hashlib.sha256()
    for path in sorted(p for p in CONNECTOR_SOURCES.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(CONNECTOR_SOURCES)).encode() + b"\0" + path.read_bytes())
    return folder / f"warehouse-flink-connector-{digest.hexdigest()[:12]}.jar"


def ensure_warehouse_connector(folder: Path, classpath_jars: list[Path], java: Path, progress: Progress) -> Path:
    """The warehouse's own Flink connector (resources/flink: the `warehouse-changes` sink, the PostgreSQL and
    MySQL database sources), compiled once against the cached Flink and CDC jars."""
    target = warehouse_connector_path(folder)
    if target.exists():
        return target
    javac = java.resolve().parent / "javac"
    if not javac.exists():
        raise ArtifactError(f"no javac next to {java}: the warehouse's Flink connector is compiled", hint=JDK_HINT)
    progress(f"building {target.name} (the warehouse's own Flink connector)")
    with tempfile.TemporaryDirectory() as scratch:
        classes = Path(scratch)
        sources = [str(p) for p in sorted(CONNECTOR_SOURCES.rglob("*.java"))]
        classpath = ":".join(str(p) for p in classpath_jars)
        command = [str(javac), "--release", "11", "-nowarn", "-d", str(classes), "-cp", classpath, *sources]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            failure = _last_line(result.stderr)
            raise ArtifactError(f"javac failed on the warehouse's connector: {failure}", hint=JDK_HINT)
        folder.mkdir(parents=True, exist_ok=True)
        _write_jar(classes, CONNECTOR_SOURCES / "META-INF", target)
    return target


def _write_jar(classes: Path, meta_inf: Path, target: Path) -> None:
    part = target.with_suffix(".part")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: warehouse\n")
        for path in sorted(p for p in meta_inf.rglob("*") if p.is_file()):
            jar.write(path, f"META-INF/{path.relative_to(meta_inf)}")
        for path in sorted(p for p in classes.rglob("*.class")):
            jar.write(path, str(path.relative_to(classes)))
    part.replace(target)


def cached_jar_paths(cache: Path) -> dict[str, Path]:
    """Every pinned artifact and where it would be cached (for `doctor`)."""
    paths = {jar.filename: cache / "jars" / jar.filename for jar in CONNECTOR_JARS}
    paths[FLINK_DISTRIBUTION.filename] = _distribution_dir(cache) / "lib" / f"flink-dist-{FLINK_VERSION}.jar"
    return paths


def ensure_jar(jar: MavenJar, folder: Path, repository: str, progress: Progress) -> Path:
    target = folder / jar.filename
    if target.exists() and sha256_of(target) == jar.sha256:
        return target
    url = jar.url(repository)
    progress(f"downloading {jar.filename} from {url}")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".part") as part:
        _download(url, part)
    _verify_and_move(Path(part.name), target, jar.sha256, url)
    return target


def ensure_distribution(cache: Path, progress: Progress) -> Path:
    """The Flink distribution from its PyPI sdist, extracted once (jars only)."""
    folder = _distribution_dir(cache)
    if (folder / ".complete").exists():
        return folder
    archive = _fetch_sdist(FLINK_DISTRIBUTION, cache / "pypi", progress)
    progress(f"extracting Flink {FLINK_VERSION} jars")
    _extract_deps(archive, folder)
    (folder / ".complete").write_text(FLINK_DISTRIBUTION.sha256)
    return folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _distribution_dir(cache: Path) -> Path:
    return cache / f"flink-{FLINK_VERSION}"


def _download(url: str, sink: tempfile._TemporaryFileWrapper[bytes]) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, sink, length=1 << 20)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ArtifactError(
            f"cannot download {url}: {exc}",
            hint="check the network or set maven_repository in profiles.yml to a reachable mirror",
        ) from exc


def _verify_and_move(part: Path, target: Path, expected: str, source: str) -> None:
    actual = sha256_of(part)
    if actual != expected:
        part.unlink()
        raise ArtifactError(
            f"checksum mismatch for {source}: expected sha256 {expected}, got {actual}",
            hint="the mirror serves a different file; point maven_repository at Maven Central",
        )
    part.replace(target)


def _fetch_sdist(sdist: PypiSdist, folder: Path, progress: Progress) -> Path:
    target = folder / sdist.filename
    if target.exists() and sha256_of(target) == sdist.sha256:
        return target
    progress(f"downloading {sdist.filename} from PyPI (about 230 MB, once)")
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps"]
    command += ["--no-binary", ":all:", "--progress-bar", "off", "-d", str(folder)]
    result = subprocess.run([*command, f"{sdist.name}=={sdist.version}"], capture_output=True, text=True)
    if result.returncode != 0 or not target.exists():
        raise ArtifactError(
            f"cannot download {sdist.name}=={sdist.version} from PyPI: {_last_line(result.stderr)}",
            hint="check that PyPI is reachable (pip config list shows the index in use)",
        )
    _verify_and_move(target, target, sdist.sha256, f"PyPI {sdist.filename}")
    return target


def _extract_deps(archive: Path, folder: Path) -> None:
    staging = folder.with_suffix(".part")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            _extract_member(tar, member, staging)
    shutil.rmtree(folder, ignore_errors=True)
    staging.replace(folder)


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path) -> None:
    parts = Path(member.name).parts
    wanted = len(parts) == 4 and parts[1] == "deps" and parts[2] in ("lib", "bin") and member.isfile()
    if not wanted:
        return
    target = staging / parts[2] / parts[3]
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    assert source is not None
    with source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, length=1 << 20)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
