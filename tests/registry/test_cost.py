"""One update-cost formula: what `bakery verify` records (through the docker CLI) is what
`bakery update-cost` prints (over HTTP) for the same pair, on a real registry on 127.0.0.1."""

from __future__ import annotations

import json
import os

import pytest

from bakery.docker.client import make_client
from bakery.verify.run import update_cost
from tests.support.cli import run_cli
from tests.support.fake_docker import FakeDocker
from tests.support.registry import Registry, stage_candidate


def test_verify_records_the_cost_update_cost_prints(
    registry: Registry, fake_docker: FakeDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_docker.set("FAKE_DOCKER_IMAGETOOLS", "registry")
    client = make_client([str(fake_docker.path)])
    cuda, torch_old, rest, torch_new = (os.urandom(n) for n in (7_000, 4_000, 600, 4_100))
    staged = stage_candidate(registry.host, "same", (cuda, torch_new, rest))
    staged.release((cuda, torch_old, rest))

    recorded = update_cost(client, staged.target, staged.image)
    printed = run_cli(capsys, "update-cost", staged.image, "--released", staged.released,
                      "--platform", staged.target.platform, "--format", "json")
    assert printed.code == 0, printed.err
    doc = json.loads(printed.out)
    assert recorded == doc["download"]
    # the new torch layer and the candidate's config: the shared layers are free
    assert doc["download"] == len(torch_new) + doc["config"]
