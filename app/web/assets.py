"""Pinned third-party web assets (``app/assets.json``), fetched — never committed.

Each package is fetched by name and version through the ordinary npm client
(``npm pack NAME@VERSION`` into a temporary folder; npm's own configuration — ``.npmrc``, a mirror —
decides where it comes from) or, for an offline install (政务内网), read from a folder of the same
tarballs (``investflow assets fetch --from DIR``; file names as ``npm pack`` writes them,
``<name>-<version>.tgz``, ``@scope/pkg`` → ``scope-pkg-<version>.tgz``). Either way the tarball is
checked against the pinned npm integrity (sha512, base64) before anything is extracted, and only the
listed files (exact paths or ``dir/**``) are written under ``app/static/vendor/<name>/``
(git-ignored), with a ``.manifest.json`` stamp recording the integrity and each file's sha256.

``fetch_all()`` is idempotent: a package whose stamp matches the pinned integrity and whose files
are all present with the recorded hashes is skipped. It returns the number of packages downloaded
in this run (0 when everything was already in place). ``status()`` reports without network.

Templates refer to the files as ``url_for('static', filename='vendor/bpmn-js/dist/...')``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import logging
import os
import posixpath
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

APP_DIR = Path(__file__).resolve().parent.parent
MANIFEST = APP_DIR / "assets.json"
VENDOR_DIR = APP_DIR / "static" / "vendor"
STAMP = ".manifest.json"
MAX_TARBALL_BYTES = 64 * 1024 * 1024
TIMEOUT_SECONDS = 60


class AssetError(RuntimeError):
    pass


def load_manifest(path: Path = MANIFEST) -> dict:
    with open(path, encoding="utf-8") as fh:
        manifest = json.load(fh)
    for pkg in manifest.get("packages", []):
        for key in ("name", "version", "integrity", "files"):
            if not pkg.get(key):
                raise AssetError(f"assets.json: 包 {pkg.get('name')} 缺少 {key} / missing {key}")
        if not str(pkg["integrity"]).startswith("sha512-"):
            raise AssetError(f"assets.json: {pkg['name']} 需要 sha512 完整性值 / sha512 integrity required")
    return manifest


def tarball_name(name: str, version: str) -> str:
    """The file name ``npm pack`` gives the tarball: ``@scope/pkg`` → ``scope-pkg-<version>.tgz``."""
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _wanted(relpath: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("/**"):
            if relpath.startswith(pattern[:-2]):
                return True
        elif fnmatch.fnmatchcase(relpath, pattern):
            return True
    return False


def _safe_relpath(member_name: str) -> str | None:
    """``package/dist/x.js`` → ``dist/x.js``; None for anything that could escape the target."""
    name = member_name.replace("\\", "/")
    if "/" not in name:
        return None
    rel = posixpath.normpath(name.split("/", 1)[1])
    if rel.startswith(("/", "../")) or rel in (".", "..") or "/../" in f"/{rel}/":
        return None
    return rel


def _target_dir(name: str, vendor_dir: Path) -> Path:
    target = (vendor_dir / name).resolve()
    if vendor_dir.resolve() not in target.parents:
        raise AssetError(f"非法的包名 / invalid package name: {name}")
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def is_current(pkg: dict, vendor_dir: Path = VENDOR_DIR) -> bool:
    target = _target_dir(pkg["name"], vendor_dir)
    stamp_path = target / STAMP
    if not stamp_path.is_file():
        return False
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if stamp.get("integrity") != pkg["integrity"] or stamp.get("version") != pkg["version"] \
            or stamp.get("patterns") != pkg["files"]:
        return False
    files = stamp.get("files") or {}
    if not files:
        return False
    for rel, digest in files.items():
        path = target / rel
        if not path.is_file() or _sha256(path) != digest:
            return False
    return True


def _read_limited(path: Path) -> bytes:
    if path.stat().st_size > MAX_TARBALL_BYTES:
        raise AssetError(f"压缩包过大 / tarball too large: {path.name}")
    return path.read_bytes()


def npm_pack(name: str, version: str) -> bytes:
    """``npm pack NAME@VERSION`` into a temporary folder; the tarball's bytes (not yet verified)."""
    npm = shutil.which("npm")
    if not npm:
        raise AssetError("找不到 npm 客户端;请安装 npm,或用 investflow assets fetch --from DIR 从本地文件夹离线安装 / "
                         "npm not found (or use --from DIR)")
    with tempfile.TemporaryDirectory(prefix="investflow-npm-") as tmp:
        try:
            proc = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", tmp, "--ignore-scripts",
                                   "--silent"], cwd=tmp, capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS * 5, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AssetError(f"npm pack {name}@{version} 失败 / failed: {exc}") from exc
        if proc.returncode != 0:
            reason = (proc.stderr or proc.stdout or "").strip().splitlines()
            raise AssetError(f"npm pack {name}@{version} 失败 / failed: {reason[-1] if reason else proc.returncode}")
        found = sorted(Path(tmp).glob("*.tgz"))
        if len(found) != 1:
            raise AssetError(f"npm pack {name}@{version} 没有得到压缩包 / produced no tarball")
        return _read_limited(found[0])


def from_folder(folder) -> Callable[[str, str], bytes]:
    """A fetcher reading the tarballs ``npm pack`` wrote into ``folder`` (offline install)."""
    root = Path(folder)
    if not root.is_dir():
        raise AssetError(f"文件夹不存在 / no such folder: {folder}")

    def fetch(name: str, version: str) -> bytes:
        for candidate in (tarball_name(name, version), f"{name.rsplit('/', 1)[-1]}-{version}.tgz"):
            path = root / candidate
            if path.is_file():
                return _read_limited(path)
        raise AssetError(f"{root} 中没有 {tarball_name(name, version)}(可在联网机器上运行 npm pack {name}@{version} "
                         f"得到) / tarball missing")

    return fetch


def install(pkg: dict, data: bytes, vendor_dir: Path = VENDOR_DIR) -> int:
    """Verify ``data`` against the pinned integrity, then extract the wanted files. Returns file count."""
    actual = integrity_of(data)
    if actual != pkg["integrity"]:
        raise AssetError(f"{pkg['name']}@{pkg['version']} 完整性校验失败 / integrity mismatch "
                         f"(expected {pkg['integrity']}, got {actual})")
    target = _target_dir(pkg["name"], vendor_dir)
    vendor_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{pkg['name'].replace('/', '_')}-", dir=vendor_dir))
    written: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                rel = _safe_relpath(member.name)
                if rel is None or not _wanted(rel, pkg["files"]):
                    continue
                src = tar.extractfile(member)
                if src is None:
                    continue
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
                written[rel] = _sha256(dest)
        missing = [p for p in pkg["files"] if not p.endswith("/**") and not any(fnmatch.fnmatchcase(r, p) for r in written)]
        missing += [p for p in pkg["files"] if p.endswith("/**") and not any(r.startswith(p[:-2]) for r in written)]
        if missing:
            raise AssetError(f"{pkg['name']}@{pkg['version']} 压缩包中缺少文件 / missing in tarball: {', '.join(missing)}")
        stamp = {"name": pkg["name"], "version": pkg["version"], "integrity": pkg["integrity"],
                 "patterns": pkg["files"], "files": dict(sorted(written.items()))}
        (staging / STAMP).write_text(json.dumps(stamp, ensure_ascii=False, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return len(written)


def fetch_all(manifest_path: Path = MANIFEST, vendor_dir: Path = VENDOR_DIR,
              fetch: Callable[[str, str], bytes] = npm_pack) -> int:
    """Fetch every pinned package that is not already present and verified; returns how many were fetched.
    ``fetch(name, version)`` returns the tarball: :func:`npm_pack` (default) or :func:`from_folder`."""
    manifest = load_manifest(manifest_path)
    fetched = 0
    for pkg in manifest.get("packages", []):
        if is_current(pkg, vendor_dir):
            log.info("asset %s@%s present and verified", pkg["name"], pkg["version"])
            continue
        log.info("fetching %s@%s", pkg["name"], pkg["version"])
        try:
            data = fetch(pkg["name"], pkg["version"])
        except OSError as exc:
            raise AssetError(f"获取失败 / fetch failed: {pkg['name']}@{pkg['version']}: {exc}") from exc
        count = install(pkg, data, vendor_dir)
        log.info("installed %s@%s (%d files)", pkg["name"], pkg["version"], count)
        fetched += 1
    return fetched


def status(manifest_path: Path = MANIFEST, vendor_dir: Path = VENDOR_DIR) -> dict[str, bool]:
    """``{"bpmn-js@17.11.1": True, ...}`` — present and verified, without network."""
    manifest = load_manifest(manifest_path)
    return {f"{p['name']}@{p['version']}": is_current(p, vendor_dir) for p in manifest.get("packages", [])}
