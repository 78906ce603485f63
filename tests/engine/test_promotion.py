"""Promotion with the REAL `docker buildx imagetools` (the installed buildx, not the fake)
against a loopback registry: a pre-release creates its release tags only; a backport released
after a newer version leaves `latest` where it is; `--force` rolls it back. The candidates are
images built on this engine (tests/engine/images.py, no registry pull), each labelled with
the release it was built for, as `bakery bake` labels a release tag's build, and pushed to
the registry's staging repository as an index, as `bake --push` with attestations pushes
them (an index is copied as it is by every buildx; a single manifest only by buildx >= 0.15
with `--prefer-index=false`)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.engine.images import build_image, build_scratch_image, docker
from tests.release.data import entry, results_doc
from tests.support.cli import MINIMAL_MATRIX
from tests.support.locked import write_locks
from tests.support.registry import Registry

pytestmark = pytest.mark.engine

IMAGE = "edge_cpu-py313"
SHA = "0123456789abcdef0123456789abcdef01234567"
LABEL = "org.bakery.release"  # MINIMAL_MATRIX keeps the default label_prefix


def bakery(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BAKERY_DOCKER", "GITHUB_REF", "GITHUB_SHA", "BAKERY_SHA")}
    return subprocess.run([sys.executable, "-m", "bakery", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def resolve(host: str, name: str) -> str | None:
    """The digest `repo:tag` has in the registry at `host`, or None."""
    repo, _, tag = name.rpartition(":")
    url = f"http://127.0.0.1:{host.rsplit(':', 1)[1]}/v2/{repo}/manifests/{tag}"
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": ", ".join([
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json"])})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def tags(host: str, repo: str) -> set[str]:
    url = f"http://127.0.0.1:{host.rsplit(':', 1)[1]}/v2/{repo}/tags/list"
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return set(json.loads(answer.read()).get("tags") or [])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return set()
        raise


@pytest.fixture
def project(tmp_path: Path, registry: Registry) -> Path:
    # a namespace of its own: the registry lives for the whole session
    token = secrets.token_hex(4)
    namespace = f"{registry.host}/acme-{token}"
    text = MINIMAL_MATRIX.replace('namespace = "acme"', f'namespace = "{namespace}"')
    text = text.replace('legacy_tags = ["acme/edge:{machine}-{tag}"]',
                        f'legacy_tags = ["{namespace}/edge:{{machine}}-{{tag}}",'
                        f' "{namespace}/edge:latest"]')
    text = text.replace('dind_tags = ["acme/edge_dind:{machine}-{tag}"]',
                        f'dind_tags = ["{namespace}/edge_dind:{{machine}}-{{tag}}"]')
    text = text.replace('{ type = "semver", pattern = "{{version}}" }',
                        '{ type = "semver", pattern = "{{version}}" },'
                        ' { type = "semver", pattern = "{{major}}.{{minor}}" }')
    text += f'\n[publish]\nstaging = "{registry.host}/staging-{token}"\n'
    (tmp_path / "matrix.toml").write_text(text)
    write_locks(tmp_path / "matrix.toml")  # release publishes only locked targets
    return tmp_path


def namespace(project: Path) -> str:
    """The path of the project's namespace in its registry (`acme-1a2b3c4d`)."""
    text = (project / "matrix.toml").read_text()
    return text.split('namespace = "', 1)[1].split('"', 1)[0].split("/", 1)[1]


def candidate(project: Path, registry: Registry, version: str, *, index: bool = True
              ) -> tuple[str, str]:
    """Build the candidate of release `version` (labelled with it), push it to staging where
    `bakery bake --push` would (as an index, or with `index=False` as the single manifest
    `docker push` writes), write the results file of a verified build; return the results
    file and the candidate's digest."""
    plan = json.loads(bakery("plan", "--format", "json", "--ref", f"refs/tags/v{version}",
                             "--sha", SHA, cwd=project).stdout)
    name = next(t for t in plan["targets"] if t["id"] == IMAGE)["candidate"]
    base = build_scratch_image("bakery-promotion-scratch", {})
    local = build_image("bakery-promotion-candidate",
                        f"FROM {base}\nLABEL {LABEL}={version}\n", {})
    repository, tag = name.split("/", 1)[1].rsplit(":", 1)
    pushed, digest = registry.push(local, repository, f"{tag}-single")
    if index:
        docker("buildx", "imagetools", "create", "--tag", name,
               f"{pushed.rsplit(':', 1)[0]}@{digest}")
        digest = resolve(registry.host, name.split("/", 1)[1]) or ""
    doc = results_doc([entry(IMAGE, digest=digest, tags=[name],
                             verify={"ok": True, "image": f"{name.rsplit(':', 1)[0]}@{digest}",
                                     "digest": digest, "verified_at": "2026-12-07T09:00:00Z",
                                     "mismatches": [], "probe": {}})])
    path = project / f"results-{version}.json"
    path.write_text(json.dumps(doc))
    return str(path), digest


def release(project: Path, version: str, results: str, *extra: str
            ) -> subprocess.CompletedProcess[str]:
    return bakery("release", "--target", IMAGE, "--ref", f"refs/tags/v{version}", "--sha", SHA,
                  "--results", results, "--format", "json", *extra, cwd=project)


def test_pre_release_then_final_then_backport_then_forced_rollback(
    project: Path, registry: Registry
) -> None:
    host = registry.host
    public, legacy = f"{namespace(project)}/edge_cpu", f"{namespace(project)}/edge"

    rc_results, rc = candidate(project, registry, "1.3.0-rc.1")
    done = release(project, "1.3.0-rc.1", rc_results)
    assert done.returncode == 0, done.stderr
    assert tags(host, public) == {"1.3.0-rc.1", "sha-0123456"}
    assert tags(host, legacy) == set()  # no primary, legacy or floating name for a candidate
    assert resolve(host, f"{public}:1.3.0-rc.1") == rc

    new_results, new = candidate(project, registry, "1.3.0")
    done = release(project, "1.3.0", new_results)
    assert done.returncode == 0, done.stderr
    for name in (f"{public}:latest", f"{public}:1.3.0", f"{public}:1.3", f"{legacy}:latest"):
        assert resolve(host, name) == new, name  # the verified digest itself, not a new index
    assert resolve(host, f"{public}:1.3.0-rc.1") == rc

    old_results, old = candidate(project, registry, "1.2.3")
    assert old != new
    done = release(project, "1.2.3", old_results)
    assert done.returncode == 0, done.stderr
    states = {t["tag"].split("/", 1)[1]: t["state"] for t in json.loads(done.stdout)["tags"]}
    assert states[f"{public}:latest"] == states[f"{legacy}:latest"] == "kept"
    assert states[f"{public}:1.2.3"] == states[f"{public}:1.2"] == "created"
    assert resolve(host, f"{public}:latest") == resolve(host, f"{legacy}:latest") == new
    assert resolve(host, f"{public}:1.2.3") == old
    assert (f"bakery: note: {host}/{public}:latest holds 1.3.0, newer than 1.2.3: not moved"
            " back (--force moves it)") in done.stderr.splitlines()

    forced = release(project, "1.2.3", old_results, "--force")
    assert forced.returncode == 0, forced.stderr
    assert resolve(host, f"{public}:latest") == resolve(host, f"{legacy}:latest") == old
    assert resolve(host, f"{public}:1.3.0") == new  # its own version tag never moves


def test_a_single_manifest_candidate_keeps_its_digest_or_is_refused(
    project: Path, registry: Registry
) -> None:
    """buildx >= 0.15 copies it as it is (--prefer-index=false); an older buildx would wrap
    it in a new index, so release refuses it before writing anything."""
    results, single = candidate(project, registry, "2.0.0", index=False)
    version = docker("buildx", "version").stdout.split()[1].lstrip("v")
    done = release(project, "2.0.0", results)
    name = f"{namespace(project)}/edge_cpu:2.0.0"
    if tuple(int(n) for n in version.split("+")[0].split(".")[:2]) >= (0, 15):
        assert done.returncode == 0, done.stderr
        assert resolve(registry.host, name) == single
    else:
        assert done.returncode == 1
        states = {t["state"] for t in json.loads(done.stdout)["tags"]}
        assert states == {"failed"}
        assert "is a single image manifest, which this buildx (before 0.15, no" \
            " --prefer-index) would wrap in a new index" in done.stdout
        assert resolve(registry.host, name) is None
