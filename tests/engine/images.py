"""Build local test images without a registry (nothing can be pulled on the test machines).

Three ways to make an image, all cached by a hash of their inputs (the hash is the image tag,
so a second test session reuses what the first one built):

* `build_rootfs_image(name, packages)`: a Debian root filesystem made by debootstrap, imported
  with `docker import`. The only helper that talks to the network (deb.debian.org, Debian's
  package archive). About 45-60 s the first time.
* `build_scratch_image(name, files)`: `FROM scratch` with busybox-static and the files given.
  Tiny (2 MB), built in a second: the image to run *inside* a DinD container, where it gets there
  with `save_image` + `docker load`.
* `build_image(name, dockerfile, files)`: any Dockerfile over a local base (one of the above),
  built with the classic builder (`DOCKER_BUILDKIT=0`: buildx is not available here).

Every image gets the label `LABEL_KEY` so stale test images can be found and removed:
`docker image prune -a --filter label=org.bakery.test-image`.

Host requirements (`.ci/start-engine.sh` installs them): a Docker engine, `debootstrap`
(rootfs images, root only) and `busybox-static` (scratch images).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

DEBIAN_MIRROR = "http://deb.debian.org/debian"
LABEL_KEY = "org.bakery.test-image"
BUSYBOX = Path("/bin/busybox")
# Bump when the way images are made changes, so cached images built the old way are not reused.
RECIPE_VERSION = "1"

DockerFiles = Mapping[str, bytes | str | Path]
"""Files for an image: path inside the image (or build context) -> content or a host file."""


class ImageBuildError(RuntimeError):
    """An image could not be built; the message says which step failed and shows its output."""


def docker_cli() -> str:
    """Path of the docker CLI, or ImageBuildError when there is none."""
    found = shutil.which("docker")
    if found is None:
        raise ImageBuildError("no `docker` CLI on PATH (run .ci/start-engine.sh)")
    return found


def docker(
    *args: str,
    input: str | bytes | None = None,
    timeout: float = 120,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `docker ARGS` and return the completed process (text output).

    With `check`, a non-zero exit raises ImageBuildError naming the command and its stderr.
    `env` entries are added to the current environment.
    """
    full_env = {**os.environ, **env} if env else None
    data = input.decode() if isinstance(input, bytes) else input
    done = subprocess.run(
        [docker_cli(), *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
    if check and done.returncode != 0:
        raise ImageBuildError(
            f"`docker {' '.join(args)}` exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()[-2000:]}"
        )
    return done


def require_engine() -> None:
    """Raise ImageBuildError unless a Docker engine answers (checked before slow work)."""
    done = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
    if done.returncode != 0 or not done.stdout.strip():
        raise ImageBuildError(
            f"no Docker engine answers ({done.stderr.strip()[:300]}); run .ci/start-engine.sh"
        )


def image_exists(ref: str) -> bool:
    """True when the engine has an image called `ref`."""
    return docker("image", "inspect", ref, check=False, timeout=30).returncode == 0


def build_rootfs_image(
    name: str,
    packages: Sequence[str],
    *,
    suite: str = "bookworm",
    mirror: str = DEBIAN_MIRROR,
    cmd: Sequence[str] = ("/bin/bash",),
    arch: str = "amd64",
    timeout: float = 900,
) -> str:
    """Return `name:<hash>`, a Debian `suite` minbase image with `packages` (and their
    dependencies, no recommends) installed, for the Debian/Docker architecture `arch`.

    Built with `debootstrap --arch=ARCH --variant=minbase --include=...` into a temporary
    directory and imported with `docker import`; apt caches and lists are dropped first. Another
    architecture than the host's needs a qemu binfmt handler (qemu-user-static) and is slow
    (minutes); its image config then names that architecture (see `set_architecture`). Reused
    when an image with the same inputs exists. Needs root and debootstrap; talks to `mirror`.
    """
    key = _hash({
        "recipe": RECIPE_VERSION, "kind": "rootfs", "suite": suite, "mirror": mirror,
        "packages": sorted(set(packages)), "cmd": list(cmd),
        **({} if arch == "amd64" else {"arch": arch}),
    })
    ref = f"{name}:{key}"
    require_engine()
    changes = [f"LABEL {LABEL_KEY}=rootfs", f"CMD {json.dumps(list(cmd))}"]
    if image_exists(ref):
        _ensure_architecture(ref, arch, changes)
        return ref
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise ImageBuildError("`debootstrap` is not installed (run .ci/start-engine.sh)")
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root to build a root filesystem image")

    with tempfile.TemporaryDirectory(prefix="bakery-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        command = [debootstrap, f"--arch={arch}", "--variant=minbase"]
        if packages:
            command.append("--include=" + ",".join(sorted(set(packages))))
        command += [suite, str(rootfs), mirror]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ImageBuildError(f"debootstrap took more than {timeout}s: {command}") from exc
        if done.returncode != 0:
            log = (rootfs / "debootstrap" / "debootstrap.log")
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ImageBuildError(
                f"debootstrap exited {done.returncode}: {done.stderr.strip()[-1000:]}\n{detail}"
            )
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (rootfs / junk).glob("*"):
                if entry.is_file():
                    entry.unlink()
        with subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE,
        ) as tar:
            imported = subprocess.run(
                [docker_cli(), "import", "--platform", f"linux/{arch}",
                 *(f"--change={c}" for c in changes), "-", ref],
                stdin=tar.stdout, capture_output=True, text=True, timeout=300, check=False,
            )
            assert tar.stdout is not None
            tar.stdout.close()
            tar_status = tar.wait(timeout=60)
        if tar_status != 0 or imported.returncode != 0:
            raise ImageBuildError(
                f"importing the root filesystem failed (tar {tar_status}, docker import "
                f"{imported.returncode}): {imported.stderr.strip()[-1000:]}"
            )
        # debootstrap's files are root's; TemporaryDirectory removes them (we are root).
    _ensure_architecture(ref, arch, changes)
    return ref


def _architecture(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Architecture}}", ref).stdout.strip()


def _ensure_architecture(ref: str, arch: str, changes: Sequence[str]) -> None:
    """Make `ref` an image of `arch`. Engines from 23 on honour `docker import --platform`
    (an image imported without it, or cached from before, is imported again from a container
    of it, which is quick); older ones ignore it and get their config edited
    (`set_architecture`), which the containerd image store would not see."""
    if _architecture(ref) == arch:
        return
    created = docker("create", ref, "/bin/true").stdout.strip()
    try:
        with subprocess.Popen([docker_cli(), "export", created], stdout=subprocess.PIPE) as out:
            docker_import = subprocess.run(
                [docker_cli(), "import", "--platform", f"linux/{arch}",
                 *(f"--change={c}" for c in changes), "-", ref],
                stdin=out.stdout, capture_output=True, text=True, timeout=300, check=False)
            assert out.stdout is not None
            out.stdout.close()
            out.wait(timeout=60)
    finally:
        docker("rm", "-f", created, check=False)
    if docker_import.returncode != 0:
        raise ImageBuildError(f"docker import of {ref} as {arch}: {docker_import.stderr}")
    if _architecture(ref) != arch:
        set_architecture(ref, arch)


def set_architecture(ref: str, arch: str) -> None:
    """Make `ref`'s image config name `arch` (`docker import` records the engine's own, and
    ignores --platform on this engine): docker save, edit the config, docker load."""
    with tempfile.TemporaryDirectory(prefix="bakery-arch-", dir="/var/tmp") as tmp:
        saved = Path(tmp) / "image.tar"
        docker("save", "-o", str(saved), ref, timeout=300)
        work = Path(tmp) / "image"
        work.mkdir()
        subprocess.run(["tar", "-C", str(work), "-xf", str(saved)], check=True, timeout=300)
        manifest = json.loads((work / "manifest.json").read_text())
        old = work / manifest[0]["Config"]
        config = json.loads(old.read_text())
        config["architecture"] = arch
        data = json.dumps(config, separators=(",", ":")).encode()
        name = hashlib.sha256(data).hexdigest() + ".json"
        old.unlink()
        (work / name).write_bytes(data)
        manifest[0]["Config"] = name
        (work / "manifest.json").write_text(json.dumps(manifest))
        # An engine with the containerd image store saves an OCI layout too, and loads its
        # index.json (which still names the old config) before manifest.json: drop it.
        for oci in ("index.json", "oci-layout"):
            (work / oci).unlink(missing_ok=True)
        saved.unlink()
        with subprocess.Popen(["tar", "-C", str(work), "-c", "."], stdout=subprocess.PIPE) as tar:
            loaded = subprocess.run([docker_cli(), "load"], stdin=tar.stdout,
                                    capture_output=True, text=True, timeout=300, check=False)
            assert tar.stdout is not None
            tar.stdout.close()
            tar.wait(timeout=60)
        if loaded.returncode != 0:
            raise ImageBuildError(f"docker load of {ref} as {arch}: {loaded.stderr.strip()}")


def build_scratch_image(
    name: str,
    files: DockerFiles | None = None,
    *,
    busybox: bool = True,
    cmd: Sequence[str] = ("sh",),
    env: Mapping[str, str] | None = None,
) -> str:
    """Return `name:<hash>`, an image `FROM scratch` holding `files`.

    `files` maps absolute paths inside the image to their content (bytes/str) or a host file
    (Path); each is copied with mode 0755 when it is executable on the host or bytes/str
    starting with `#!`, else 0644. With `busybox` (default), /bin/busybox from the host's
    busybox-static package is added with a /bin symlink per applet (sh, echo, sleep, ...).
    Reused when an image with the same inputs exists.
    """
    entries: dict[str, bytes | str | Path] = {}
    if busybox:
        if not BUSYBOX.is_file():
            raise ImageBuildError(
                f"{BUSYBOX} is missing: install busybox-static (run .ci/start-engine.sh)"
            )
        if not _is_static_elf(BUSYBOX):
            raise ImageBuildError(
                f"{BUSYBOX} is dynamically linked and cannot run FROM scratch: "
                "install busybox-static instead of busybox"
            )
        entries["/bin/busybox"] = BUSYBOX
    entries.update(files or {})
    applets: list[str] = []
    if busybox:
        listed = subprocess.run(
            [str(BUSYBOX), "--list"], capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()
        applets = sorted({a for a in listed if a != "busybox" and f"/bin/{a}" not in entries})

    lines = ["FROM scratch", f"LABEL {LABEL_KEY}=scratch", "COPY rootfs/ /"]
    if env:
        lines += [f"ENV {k}={json.dumps(v)}" for k, v in sorted(env.items())]
    lines.append(f"CMD {json.dumps(list(cmd))}")
    dockerfile = "\n".join(lines) + "\n"

    key_files = {f"rootfs{path}": content for path, content in entries.items()}
    key = _hash({
        "recipe": RECIPE_VERSION, "kind": "scratch", "dockerfile": dockerfile,
        "files": {p: _digest(c) for p, c in sorted(key_files.items())}, "applets": applets,
    })
    ref = f"{name}:{key}"
    if image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(prefix="bakery-scratch-") as tmp:
        context = Path(tmp)
        _write_files(context, key_files)
        for applet in applets:
            (context / "rootfs" / "bin" / applet).symlink_to("busybox")
        (context / "Dockerfile").write_text(dockerfile)
        _classic_build(context, ref)
    return ref


def build_image(name: str, dockerfile: str, files: DockerFiles | None = None) -> str:
    """Return `name:<hash>`, built from `dockerfile` with `files` as the build context.

    `files` maps paths relative to the context to content or host files (mode as in
    `build_scratch_image`). The base image must exist locally (nothing can be pulled): use a
    ref returned by the other helpers; it is part of the hash, so a rebuilt base means a new
    tag. Built with the classic builder; reused when an image with the same inputs exists.
    """
    bases = [
        line.split()[1] for line in dockerfile.splitlines()
        if line.strip().upper().startswith("FROM ") and len(line.split()) > 1
    ]
    base_ids = {
        b: docker("image", "inspect", "--format", "{{.Id}}", b, check=False).stdout.strip()
        for b in bases if b != "scratch"
    }
    key = _hash({
        "recipe": RECIPE_VERSION, "kind": "dockerfile", "dockerfile": dockerfile,
        "bases": base_ids, "files": {p: _digest(c) for p, c in sorted((files or {}).items())},
    })
    ref = f"{name}:{key}"
    if image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(prefix="bakery-build-") as tmp:
        context = Path(tmp)
        _write_files(context, files or {})
        (context / "Dockerfile").write_text(dockerfile)
        _classic_build(context, ref)
    return ref


def save_image(ref: str, dest: Path) -> Path:
    """`docker save` `ref` to the tar file `dest` (for `docker load` inside a DinD container)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    docker("save", "-o", str(dest), ref, timeout=300)
    dest.chmod(0o644)
    return dest


def prune_other_tags(ref: str) -> list[str]:
    """Remove every other tag of `ref`'s repository (older builds of the same helper image, left
    behind when its inputs changed); return the removed refs. Layers still in use stay."""
    repository = ref.rsplit(":", 1)[0]
    listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository).stdout
    stale = [other for other in listed.split() if other != ref and not other.endswith(":<none>")]
    if stale:
        docker("image", "rm", *stale, check=False)
    return stale


def buildkit_cli() -> str | None:
    """A docker CLI whose `DOCKER_BUILDKIT=1 docker build` runs BuildKit, or None: a client
    before 23.0 carries BuildKit built in (Debian's docker.io 20.10, these machines); a newer
    one needs the buildx plugin (GitHub's runners have it; these machines do not)."""
    candidates = [found for found in (shutil.which("docker"), "/usr/bin/docker") if found]
    for cli in dict.fromkeys(candidates):
        if not os.access(cli, os.X_OK):
            continue
        done = subprocess.run([cli, "version", "--format", "{{.Client.Version}}"],
                              capture_output=True, text=True, timeout=30, check=False)
        major = done.stdout.strip().split(".", 1)[0]
        if major.isdigit() and int(major) < 23:
            return cli
        buildx = subprocess.run([cli, "buildx", "version"], capture_output=True, text=True,
                                timeout=30, check=False)
        if buildx.returncode == 0:
            return cli
    return None


def buildkit_build(cli: str, context: Path, ref: str, *args: str, timeout: float = 600) -> str:
    """`DOCKER_BUILDKIT=1 docker build` of `context` (its Dockerfile) as `ref`, with the test
    image label; returns the build log. ImageBuildError with the log's end on failure."""
    done = subprocess.run(
        [cli, "build", "--progress", "plain", "--label", f"{LABEL_KEY}=build", "-t", ref,
         *args, str(context)],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if done.returncode != 0:
        raise ImageBuildError(f"BuildKit build of {ref} failed: {done.stderr[-3000:]}")
    return done.stderr


# ------------------------------------------------------------------------------------ helpers


def _classic_build(context: Path, ref: str) -> None:
    docker(
        "build", "--quiet", "--label", f"{LABEL_KEY}=build", "-t", ref, str(context),
        env={"DOCKER_BUILDKIT": "0"}, timeout=600,
    )


def _write_files(root: Path, files: Mapping[str, bytes | str | Path]) -> None:
    for rel, content in files.items():
        target = root / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
            executable = os.access(content, os.X_OK)
        else:
            data = content.encode() if isinstance(content, str) else content
            target.write_bytes(data)
            executable = data.startswith(b"#!")
        target.chmod(0o755 if executable else 0o644)


def _digest(content: bytes | str | Path) -> str:
    if isinstance(content, Path):
        data = content.read_bytes()
        mode = "x" if os.access(content, os.X_OK) else "-"
    else:
        data = content.encode() if isinstance(content, str) else content
        mode = "b"
    return mode + hashlib.sha256(data).hexdigest()


def _hash(inputs: object) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP)."""
    with path.open("rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or ident[:4] != b"\x7fELF":
            return False
        is64, little = ident[4] == 2, ident[5] == 1
        end = "<" if little else ">"
        if is64:
            phoff, = struct.unpack_from(end + "Q", ident, 32)
            phentsize, phnum = struct.unpack_from(end + "HH", ident, 54)
        else:
            phoff, = struct.unpack_from(end + "I", ident, 28)
            phentsize, phnum = struct.unpack_from(end + "HH", ident, 42)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    pt_interp = 3
    return all(
        struct.unpack_from(end + "I", table, i * phentsize)[0] != pt_interp for i in range(phnum)
    )
