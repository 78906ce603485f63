"""The update cost of a candidate: what a device holding the released image downloads,
measured on a real registry on 127.0.0.1 (two stand-in releases pushed by its HTTP API)."""

from __future__ import annotations

import json

from bakery.registry.cost import http_update_cost as update_cost
from tests.support.cli import run_cli
from tests.support.registry import layer, push_image


def test_two_releases_sharing_all_but_one_layer_cost_exactly_thatlayer(registry, capsys,
                                                                      allow_subprocess):
    # CUDA runtime, torch and kin, the rest: the torch layer is the one a bump replaces
    cuda, torch_old, rest = layer("cuda", 4000), layer("torch-2.9", 3000), layer("rest", 500)
    torch_new = layer("torch-2.10", 3100)
    repo = f"{registry.host}/cost/edge"
    push_image(registry.host, "cost/edge", "released", "r1", layers=(cuda, torch_old, rest))
    push_image(registry.host, "cost/edge", "candidate", "r2", layers=(cuda, torch_new, rest))

    cost = update_cost(f"{repo}:candidate", f"{repo}:released", "linux/arm64")
    # the new torch layer, and the config blob that names the candidate
    assert cost.download == len(torch_new) + cost.config
    assert 0 < cost.config < 500
    assert [layer.size for layer in cost.new_layers] == [len(torch_new)]
    assert cost.total == cost.config + len(cuda) + len(torch_new) + len(rest)
    assert cost.layers == 3

    same = update_cost(f"{repo}:released", f"{repo}:released", "linux/amd64")
    assert same.download == 0 and same.new_layers == ()

    first = update_cost(f"{repo}:candidate", f"{repo}:never-released", "linux/amd64")
    assert first.download == first.total
    assert "does not exist yet" in first.note

    result = run_cli(capsys, "update-cost", f"{repo}:candidate", "--released",
                     f"{repo}:released", "--platform", "linux/amd64", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["download"] == len(torch_new) + doc["config"] and doc["layers"] == 3


def test_an_unreachable_registry_is_an_error_naming_it(capsys, dead_index_url):
    port = dead_index_url.split(":")[2].split("/")[0]
    result = run_cli(capsys, "update-cost", f"127.0.0.1:{port}/edge:candidate")
    assert result.code == 1
    assert f"registry 127.0.0.1:{port} is unreachable" in result.err


def test_the_platform_shown_is_the_images_own(registry, capsys, allow_subprocess):
    """An arm64 image is labelled linux/arm64: a single image by its config, an index by the
    one platform it holds; an index of several needs --platform, a wrong one is refused."""
    both = push_image(registry.host, "cost/plat", "both", "p1")
    push_image(registry.host, "cost/plat", "arm", "p2", platforms=("arm64",))
    repo = f"{registry.host}/cost/plat"

    single = run_cli(capsys, "update-cost", f"{repo}@{both['linux/arm64']}")
    assert single.code == 0, single.err
    assert single.out.startswith(f"{repo}@{both['linux/arm64']} (linux/arm64): ")
    only_arm = run_cli(capsys, "update-cost", f"{repo}:arm", "--format", "json")
    assert only_arm.code == 0, only_arm.err
    assert json.loads(only_arm.out)["platform"] == "linux/arm64"

    several = run_cli(capsys, "update-cost", f"{repo}:both")
    assert several.code == 2
    assert several.err == (f"bakery: error: {repo}:both holds 2 platforms (linux/amd64,"
                           " linux/arm64); pass --platform\n")
    wrong = run_cli(capsys, "update-cost", f"{repo}@{both['linux/arm64']}",
                    "--platform", "linux/amd64")
    assert wrong.code == 2
    assert "is a linux/arm64 image" in wrong.err
    chosen = run_cli(capsys, "update-cost", f"{repo}:both", "--platform", "linux/amd64")
    assert chosen.code == 0 and "(linux/amd64)" in chosen.out
