"""The staged flow against real registries on 127.0.0.1: candidates pushed where `bake --push`
pushes them (the candidate names of the plan; the engine's classic builder stands in for
buildx), `bakery verify` probing them on the real engine, `bakery release` creating every
planned name through `docker buildx imagetools` (the fake docker's registry mode: this engine
has no buildx plugin), checked through the registries' own HTTP API. Staging and production
on one registry, and on two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.engine.standin import StandIn, build_standin
from tests.support.fake_docker import FAKE
from tests.support.locked import write_locks
from tests.support.registry import Registry
from tests.verify.matrix import STANDIN_MATRIX, write_results

pytestmark = pytest.mark.engine

ACCEPT = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.index.v1+json"])
IMAGE, DIND = "edge_cpu-py311", "edge_cpu-py311-dind"


def http(registry: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    url = f"http://127.0.0.1:{registry.rsplit(':', 1)[1]}/v2/{path}"
    request = urllib.request.Request(url, method=method, headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {}, b""


def resolve(name: str) -> str | None:
    """The digest a `host:port/repo:tag` name has in its registry, or None."""
    host, _, rest = name.partition("/")
    repo, _, tag = rest.rpartition(":")
    status, headers, _ = http(host, f"{repo}/manifests/{tag}", "HEAD")
    return headers.get("Docker-Content-Digest") if status == 200 else None


def public_tags(namespace: str, staging_repos: set[str]) -> set[str]:
    """Every `repo:tag` under `namespace` in its registry, outside the staging repositories."""
    registry, _, path = namespace.partition("/")
    repos = json.loads(http(registry, "_catalog")[2])["repositories"]
    out = set()
    for repo in repos:
        if f"{registry}/{repo}" in staging_repos or not repo.startswith(f"{path}/"):
            continue
        tags = json.loads(http(registry, f"{repo}/tags/list")[2]).get("tags") or []
        out.update(f"{registry}/{repo}:{tag}" for tag in tags)
    return out


def bakery(*args: str, cwd: Path, fake: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if fake:  # release: buildx imagetools through the fake docker, on the real registries
        env.update(BAKERY_DOCKER=str(FAKE), FAKE_DOCKER_IMAGETOOLS="registry",
                   PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "bakery", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("across", [False, True], ids=["one registry", "two registries"])
def test_nothing_public_before_proof_then_every_name_from_the_verified_digest(
    tmp_path: Path, registry: Registry, second_registry: Registry, across: bool
) -> None:
    production = second_registry.host
    staging = f"{registry.host if across else production}/staging{int(across)}"
    namespace = f"{production}/acme{int(across)}"
    text = STANDIN_MATRIX.replace('namespace = "acme"', f'namespace = "{namespace}"')
    text = text.replace('rules = [{ type = "sha" }]',
                        'rules = [{ type = "semver", pattern = "{{version}}" }, { type = "sha" }]')
    text = text.replace('features = { bitsandbytes = "on" }\n', 'features = { bitsandbytes = "on" }\n'
                        f'legacy_tags = ["{namespace}/edge:{{machine}}-{{tag}}", "{namespace}/edge:latest"]\n'
                        f'dind_tags = ["{namespace}/edge_dind:{{machine}}-{{tag}}"]\n')
    text += f'\n[publish]\nstaging = "{staging}"\n'
    (tmp_path / "matrix.toml").write_text(text)
    write_locks(tmp_path / "matrix.toml")  # release publishes only fully locked targets
    git = ("--ref", "refs/tags/v1.3.0", "--sha", "0123456789abcdef0123456789abcdef01234567")
    plan = json.loads(bakery("plan", "--format", "json", *git, cwd=tmp_path).stdout)
    targets = {t["id"]: t for t in plan["targets"]}
    # what `bakery bake --push` pushes: each target's candidate, nothing else
    pushed = {}
    for target, ee_dd in ((IMAGE, "false"), (DIND, "true")):
        repository, tag = targets[target]["candidate"].split("/", 1)[1].rsplit(":", 1)
        host = targets[target]["candidate"].split("/", 1)[0]
        pushed[target] = Registry(host).push(build_standin(StandIn(ee_dd_default=ee_dd)),
                                             repository, tag)
    staging_repos = {t["candidate"].rsplit(":", 1)[0] for t in targets.values()}
    assert public_tags(namespace, staging_repos) == set()  # nothing a user would pull
    results = write_results(tmp_path / ".bakery" / "results.json", pushed)

    proven = bakery("verify", cwd=tmp_path)
    assert proven.returncode == 0, proven.stdout + proven.stderr
    verified = results.read_text()
    one_unverified = json.loads(verified)
    next(t for t in one_unverified["targets"] if t["id"] == DIND)["verify"] = None
    results.write_text(json.dumps(one_unverified))
    refused = bakery("release", *git, cwd=tmp_path, fake=True)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"{DIND}: not verified" in refused.stderr and "so nothing was created" in refused.stderr
    assert public_tags(namespace, staging_repos) == set()
    results.write_text(verified)

    done = bakery("release", *git, cwd=tmp_path, fake=True)
    assert done.returncode == 0, done.stdout + done.stderr
    names = {target: [n for kind in t["tags"].values() for n in kind]
             for target, t in targets.items()}
    assert f"{namespace}/edge:latest" in names[IMAGE]
    assert f"{namespace}/edge_cpu:1.3.0" in names[IMAGE]
    for target, (_, digest) in pushed.items():
        for name in names[target]:
            assert resolve(name) == digest, name
    assert public_tags(namespace, staging_repos) == {n for ns in names.values() for n in ns}
    record = json.loads(results.read_text())
    assert all(t["verify"]["ok"] for t in record["targets"])

    again = bakery("release", "--format", "json", *git, cwd=tmp_path, fake=True)
    assert again.returncode == 0
    assert {t["state"] for t in json.loads(again.stdout)["tags"]} == {"present"}
