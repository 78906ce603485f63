"""`bakery bake` on the real toolchain: Docker 26 and buildx 0.13 (.ci/start-engine.sh), the
engine's own builder (docker driver), no fake anywhere on the build path.

A stand-in project (the shipped images cannot be built here: their upstreams are unreachable):
the stand-in matrix of tests/verify/matrix.py, the repository's bake template and DinD
Dockerfile, and an image Dockerfile `FROM` a local stand-in image. Built: `--load` and `--push`
to a loopback registry on the containerd image store, then `bakery verify` by the pushed
digest; a family whose image's RUN fails; SIGTERM to bakery and to its process group while a
real buildx child runs; and the pull request path (`bakery ci`, then the job's `bake --load`)
with the shipped `[publish]` settings on the classic image store, where the attestations are
turned off with a note.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.engine.images import build_scratch_image, docker
from tests.engine.standin import StandIn, build_standin
from tests.support.engine import Engine
from tests.support.locked import write_locks
from tests.support.registry import Registry
from tests.support.repo import ROOT
from tests.verify.matrix import STANDIN_MATRIX

pytestmark = pytest.mark.engine

IMAGE, DIND = "edge_cpu-py311", "edge_cpu-py311-dind"
FAMILY = "edge_cpu"  # the group of both
INDEX = "application/vnd.oci.image.index.v1+json"
SHA = "0123456789abcdef0123456789abcdef01234567"


def shipped_publish() -> str:
    """The [publish] section of the shipped matrix.toml, as it is."""
    text = (ROOT / "matrix.toml").read_text()
    section = re.search(r"^\[publish\]\n(.*?)(?=^\[)", text, re.MULTILINE | re.DOTALL)
    assert section is not None
    return "[publish]\n" + section.group(1)


def project(directory: Path, base: str, *, namespace: str, publish: str,
            run: str = "RUN true") -> Path:
    """A stand-in project: matrix, bake template and Dockerfiles, rendered. Returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    text = STANDIN_MATRIX.replace('namespace = "acme"', f'namespace = "{namespace}"')
    (directory / "matrix.toml").write_text(f"{text}\n{publish}\n")
    write_locks(directory / "matrix.toml")  # --push publishes only locked targets
    (directory / "docker-bake.hcl.j2").write_text((ROOT / "docker-bake.hcl.j2").read_text())
    shared = directory / "images" / "shared"
    shared.mkdir(parents=True)
    (shared / "Dockerfile.dind").write_text((ROOT / "images/shared/Dockerfile.dind").read_text())
    image = directory / "images" / "edge_cpu"
    image.mkdir(parents=True)
    (image / "Dockerfile").write_text(f"FROM {base} AS runtime\n{run}\n")
    rendered = bakery("render", cwd=directory)
    assert rendered.returncode == 0, rendered.stderr
    return directory


def bakery(*args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess[str]:
    full = {**(env or os.environ), "GITHUB_SHA": SHA}
    full.pop("BAKERY_DOCKER", None)  # the real docker CLI
    return subprocess.run([sys.executable, "-m", "bakery", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout, check=False)


def results(directory: Path) -> dict[str, dict[str, object]]:
    doc = json.loads((directory / ".bakery" / "results.json").read_text())
    return {t["id"]: t for t in doc["targets"]}


def registry_digest(name: str) -> str | None:
    host, _, rest = name.partition("/")
    repo, _, tag = rest.rpartition(":")
    request = urllib.request.Request(
        f"http://127.0.0.1:{host.rsplit(':', 1)[1]}/v2/{repo}/manifests/{tag}", method="HEAD",
        headers={"Accept": f"{INDEX}, application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.headers.get("Docker-Content-Digest")


@pytest.fixture(scope="module")
def standin() -> str:
    return build_standin(StandIn())


@pytest.fixture(scope="module")
def containerd(containerd_engine: Engine) -> Engine:
    return containerd_engine


# SBOM attestations need BuildKit's scanner image, which cannot be pulled here: provenance only
PROVENANCE = '[publish]\nprovenance = "max"\nsbom = false\n'


def test_load_keeps_attestations_on_the_containerd_store(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry,
) -> None:
    where = project(tmp_path, standin, namespace=f"{registry.host}/load", publish=PROVENANCE)
    done = bakery("bake", "--load", "--progress", "plain", "--target", FAMILY, cwd=where)
    assert done.returncode == 0, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "docker driver, containerd image store; cache export yes, attestations yes" in said
    assert "attestations off" not in said
    built = results(where)
    assert built[IMAGE]["status"] == "ok" and built[DIND]["status"] == "ok"
    assert built[IMAGE]["media_type"] == INDEX  # the image manifest and its provenance
    for target in (IMAGE, DIND):
        tag = built[target]["tags"][0]  # type: ignore[index]
        assert docker("image", "inspect", tag, check=False).returncode == 0, tag


def test_push_then_verify_by_the_pushed_digest(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry,
) -> None:
    where = project(tmp_path, standin, namespace=f"{registry.host}/push", publish=PROVENANCE)
    done = bakery("bake", "--push", "--target", FAMILY, cwd=where)
    assert done.returncode == 0, done.stdout + done.stderr
    built = results(where)
    for target in (IMAGE, DIND):
        result = built[target]
        assert result["status"] == "ok" and result["media_type"] == INDEX
        (candidate,) = result["tags"]  # type: ignore[misc]
        # what release must copy: the digest the registry holds for the candidate
        assert registry_digest(str(candidate).removeprefix("docker.io/")) == result["digest"]
    proven = bakery("verify", "--target", FAMILY, cwd=where)
    assert proven.returncode == 0, proven.stdout + proven.stderr
    verified = results(where)
    for target in (IMAGE, DIND):
        record = verified[target]["verify"]
        assert isinstance(record, dict) and record["ok"], record
        assert record["digest"] == built[target]["digest"]
        assert "@" + str(built[target]["digest"]) in str(record["image"])


def test_a_family_whose_image_fails_blames_the_image(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry,
) -> None:
    where = project(tmp_path, standin, namespace=f"{registry.host}/fail", publish=PROVENANCE,
                    run="RUN sh -c 'echo about to fail; exit 3'")
    # buildx 0.13 names the failing step under either target from run to run: several runs
    named = set()
    for _ in range(3):
        done = bakery("bake", "--load", "--target", FAMILY, cwd=where)
        assert done.returncode == 1, done.stdout + done.stderr
        built = results(where)
        image, variant = built[IMAGE], built[DIND]
        assert image["status"] == "failed", image
        error = image["error"]
        assert isinstance(error, dict)
        assert error["step"] == "[2/2] RUN sh -c 'echo about to fail; exit 3'"
        assert str(error["message"]).endswith("exit code: 3")
        assert variant["status"] == "cancelled"
        assert variant["error"] == {"step": None, "message": f"cancelled: its image {IMAGE}"
                                    " failed", "log_tail": []}
        assert "--fail-fast" not in done.stdout + done.stderr
        log = Path(str(image["log_file"]))
        log = log if log.is_absolute() else where / log
        named.update(re.findall(r"^ > \[(\S+) 2/2\]", log.read_text(), re.MULTILINE))
    assert named <= {IMAGE, DIND} and named


# moved from the fake (tests/bake/test_bake_cli.py): the results file, a --fail-fast success,
# the dry run's commands


def test_results_file_default_location_and_schema(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry,
) -> None:
    where = project(tmp_path, standin, namespace=f"{registry.host}/cache", publish=PROVENANCE)
    done = bakery("bake", "--target", FAMILY, cwd=where)  # neither --load nor --push
    assert done.returncode == 0, done.stdout + done.stderr
    raw = json.loads((where / ".bakery" / "results.json").read_text())
    assert set(raw) == {"schema_version", "bakery_version", "matrix", "bake_file", "builder",
                        "output", "fail_fast", "jobs", "git", "started_at", "duration_s", "ok",
                        "targets"}
    assert raw["schema_version"] == 1 and raw["ok"] is True and raw["output"] == "cache"
    assert raw["matrix"] == "matrix.toml" and raw["bake_file"] == "docker-bake.hcl"
    assert raw["jobs"] == 1  # one family (the image and its DinD variant): one bake
    assert raw["git"]["sha"] == SHA
    target = raw["targets"][0]
    assert target["id"] == IMAGE and target["platform"] == "linux/amd64"
    assert target["status"] == "ok" and target["error"] is None
    assert target["started_at"].endswith("Z") and target["build_ref"]
    assert target["log_file"] == f".bakery/logs/{IMAGE}.log"
    # each target's candidate of this commit is set on the command line
    candidates = [t["tags"][0] for t in raw["targets"]]
    assert candidates[0].endswith("-0123456") and candidates[1].endswith("-d-0123456")
    assert target["command"][1:] == [
        "buildx", "bake", "--progress", "plain", "--file", "docker-bake.hcl",
        "--set", f"{IMAGE}.tags={candidates[0]}", "--set", f"{DIND}.tags={candidates[1]}",
        "--set", f"*.labels.org.opencontainers.image.revision={SHA}",
        "--metadata-file", f".bakery/metadata/{IMAGE}.json", IMAGE, DIND]
    assert "#1 [internal] load local bake definitions" in (where / target["log_file"]).read_text()
    assert f"results in {Path('.bakery') / 'results.json'}" in done.stdout


def test_fail_fast_success_reads_the_metadata_of_every_target(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry,
) -> None:
    where = project(tmp_path, standin, namespace=f"{registry.host}/ff", publish=PROVENANCE)
    done = bakery("bake", "--fail-fast", "--load", "--target", FAMILY, cwd=where)
    assert done.returncode == 0, done.stdout + done.stderr
    built = results(where)
    assert [built[t]["status"] for t in (IMAGE, DIND)] == ["ok", "ok"]
    metadata = json.loads((where / ".bakery" / "metadata" / "fail-fast.json").read_text())
    for target in (IMAGE, DIND):
        assert built[target]["digest"] == metadata[target]["containerimage.descriptor"]["digest"]
    assert built[IMAGE]["digest"] != built[DIND]["digest"]


def test_dry_run_commands_run_as_printed(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry,
) -> None:
    """Copy-pasteable: the printed script, run by sh from elsewhere, builds the same thing."""
    where = project(tmp_path / "project", standin, namespace=f"{registry.host}/dry",
                    publish=PROVENANCE)
    printed = bakery("bake", "--dry-run", "--load", "--target", FAMILY, "--matrix",
                     str(where / "matrix.toml"), cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert f"cd {where}" in printed.stdout.splitlines(), printed.stdout
    done = subprocess.run(["sh", "-ec", printed.stdout], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    metadata = json.loads((where / ".bakery" / "metadata" / f"{IMAGE}.json").read_text())
    for target in (IMAGE, DIND):
        assert metadata[target]["image.name"], metadata
        tag = metadata[target]["image.name"].split(",")[0]
        assert docker("image", "inspect", tag, check=False).returncode == 0, tag


def _bakery_children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the buildx children of a bakery process)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("group", [False, True], ids=["leader", "process group"])
def test_sigterm_cancels_a_running_real_buildx(
    tmp_path: Path, standin: str, containerd: Engine, registry: Registry, group: bool,
) -> None:
    where = project(tmp_path, standin, namespace=f"{registry.host}/term{int(group)}",
                    publish=PROVENANCE, run=f"RUN sleep 120 # {tmp_path.name}")
    env = {**os.environ, "GITHUB_SHA": SHA}
    env.pop("BAKERY_DOCKER", None)
    started = subprocess.Popen(
        [sys.executable, "-m", "bakery", "bake", "--load", "--progress", "plain", "--target",
         FAMILY], cwd=where, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    assert started.stdout is not None
    seen = []
    children: list[int] = []
    for line in started.stdout:  # until the real buildx runs the sleep
        seen.append(line)
        children = children or _bakery_children(started.pid)
        if "RUN sleep 120" in line:
            break
    assert children, "".join(seen)
    if group:
        os.killpg(started.pid, signal.SIGTERM)
    else:
        started.send_signal(signal.SIGTERM)
    rest, _ = started.communicate(timeout=60)
    output = "".join(seen) + rest
    assert started.returncode == 1, output
    built = results(where)
    assert built[IMAGE]["status"] == "cancelled" and built[DIND]["status"] == "cancelled"
    assert built[IMAGE]["error"]["message"] == (  # type: ignore[index]
        "cancelled: bakery was interrupted before the build finished")
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children), "buildx outlived bakery"


# -- the pull request path on the classic image store -----------------------------------------


@pytest.fixture(scope="module")
def classic_base(classic_engine: Engine) -> str:
    """A small local image in the classic engine (nothing can be pulled there)."""
    ref = build_scratch_image("bakery-test-busybox")
    saved = subprocess.run(["docker", "save", ref], capture_output=True, timeout=120,
                           check=True).stdout
    subprocess.run(["docker", "load"], input=saved, env=classic_engine.env,
                   capture_output=True, timeout=120, check=True)
    return ref


def test_the_pull_request_path_loads_on_the_classic_store_with_a_note(
    tmp_path: Path, classic_engine: Engine, classic_base: str, registry: Registry,
) -> None:
    publish = shipped_publish()
    assert 'provenance = "max"' in publish and "sbom = true" in publish
    where = project(tmp_path, classic_base, namespace=f"{registry.host}/pr", publish=publish)
    env = {**classic_engine.env, "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_REF": "refs/pull/7/merge"}
    decided = bakery("ci", "--format", "json", cwd=where, env=env)
    assert decided.returncode == 0, decided.stderr
    plan = json.loads(decided.stdout)
    assert plan["build"] is True and plan["push"] is False

    # the engine really refuses the bake file as it is (so the adaptation is what makes it work)
    plain = subprocess.run(["docker", "buildx", "bake", "--load", "--file", "docker-bake.hcl",
                            IMAGE], cwd=where, env=classic_engine.env, capture_output=True,
                           text=True, timeout=300, check=False)
    assert plain.returncode == 1
    assert "Attestation is not supported for the docker driver" in plain.stderr

    # the job's bake command for a pull request
    done = bakery("bake", "--target", IMAGE, "--load", "--set", "*.cache-to=", cwd=where,
                  env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    notes = [line for line in done.stderr.splitlines() + done.stdout.splitlines()
             if line.startswith("bakery: ") and "off for this build" in line]
    assert len(notes) == 1 and notes[0].startswith("bakery: attestations off for this build")
    built = results(where)
    for target in (IMAGE,):  # the job builds one target of the plan's matrix
        assert built[target]["status"] == "ok"
        tag = str(built[target]["tags"][0])  # type: ignore[index]
        inspected = subprocess.run(["docker", "image", "inspect", tag], env=classic_engine.env,
                                   capture_output=True, timeout=60, check=False)
        assert inspected.returncode == 0, tag
