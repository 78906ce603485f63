"""Image references: the distribution grammar, Docker's normalization, exact messages."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bakery.errors import ConfigError
from bakery.plan.bulk import Repository
from bakery.tags.refs import (
    ImageRef,
    canonical_repository,
    name_part,
    namespace_problem,
    parse_reference,
    repository_problem,
)

COMPONENT = st.from_regex(r"[a-z0-9]{1,6}((\.|_|__|-{1,2})[a-z0-9]{1,6})?", fullmatch=True)
HOST = st.one_of(
    st.just("localhost"),
    st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){1,2}", fullmatch=True),
).flatmap(lambda h: st.one_of(st.just(h), st.integers(1, 65535).map(lambda p: f"{h}:{p}")))
TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
DIGEST = st.from_regex(r"[0-9a-f]{64}", fullmatch=True).map(lambda h: f"sha256:{h}")


@st.composite
def references(draw: st.DrawFn) -> tuple[str | None, list[str], str | None, str | None]:
    host = draw(st.one_of(st.none(), HOST))
    path = draw(st.lists(COMPONENT, min_size=1, max_size=4))
    return host, path, draw(st.one_of(st.none(), TAG)), draw(st.one_of(st.none(), DIGEST))


def spell(host: str | None, path: list[str], tag: str | None, digest: str | None) -> str:
    return (f"{host}/" if host else "") + "/".join(path) + (f":{tag}" if tag else "") + (
        f"@{digest}" if digest else "")


@given(references())
def test_every_grammatical_reference_parses_into_its_parts(parts: tuple) -> None:  # type: ignore[type-arg]
    host, path, tag, digest = parts
    ref = parse_reference(spell(*parts))
    assert (ref.tag, ref.digest) == (tag, digest)
    if host is None and len(path) > 1 and "." in path[0]:
        host, path = path[0], path[1:]  # Docker reads a first component with a '.' as a host
    assert ref.registry == (host or "docker.io")
    expected = "/".join(path) if host or len(path) > 1 else f"library/{path[0]}"
    assert ref.path == expected


@given(references())
def test_normalization_is_idempotent_and_round_trips(parts: tuple) -> None:  # type: ignore[type-arg]
    ref = parse_reference(spell(*parts))
    assert parse_reference(str(ref)) == ref
    assert parse_reference(ref.canonical) == ref


HUB_COMPONENT = st.from_regex(r"[a-z0-9]{1,6}((_|__|-{1,2})[a-z0-9]{1,6})?", fullmatch=True)


@given(st.lists(HUB_COMPONENT, min_size=1, max_size=3), st.one_of(st.none(), TAG))
def test_docker_hub_spellings_are_one_name(path: list[str], tag: str | None) -> None:
    name = "/".join(path) + (f":{tag}" if tag else "")
    same = [f"docker.io/{name}", f"index.docker.io/{name}"]
    if len(path) == 1:
        same.append(f"docker.io/library/{name}")
    for other in same:
        assert parse_reference(other) == parse_reference(name)
        assert str(parse_reference(other)) == name


@given(st.text(alphabet="abcXYZ09._-/:@+ ", max_size=40))
def test_anything_else_is_a_value_error_never_a_crash(text: str) -> None:
    try:
        ref = parse_reference(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert parse_reference(str(ref)) == ref
    assert re.fullmatch(r"[a-z0-9._/:\[\]-]+", ref.canonical_repository)


@given(references(), st.integers(0, 4))
def test_uppercase_in_a_path_is_refused(parts: tuple, index: int) -> None:  # type: ignore[type-arg]
    host, path, tag, digest = parts
    path = [*path]
    path[index % len(path)] = path[index % len(path)].upper()
    if path == [p.lower() for p in path]:
        return  # digits only: no case
    with pytest.raises(ValueError, match="must be lowercase"):
        parse_reference(spell(host or "ghcr.io", path, tag, digest))


def test_the_name_is_at_most_255_characters_as_docker_counts_it() -> None:
    assert parse_reference("a/" + "b" * 243).canonical_repository.__len__() == 255
    with pytest.raises(ValueError, match=r"is 256 characters, at most 255"):
        parse_reference("a/" + "b" * 244)
    # docker.io/library/ counts too
    with pytest.raises(ValueError, match="at most 255"):
        parse_reference("x" * 240)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "cannot be empty"),
    ("ratio1/Base", "path component 'Base' must be lowercase"),
    ("Ratio1/base", "'Ratio1' must be lowercase (Docker would take it for a registry host)"),
    ("ratio1//x", "empty path component"),
    ("ratio1/x/", "empty path component"),
    ("-x", "path component '-x' must be lowercase letters and digits"),
    ("a..b", "path component 'a..b'"),
    ("localhost:5o00/x", "the port '5o00' must be a number"),
    ("ex_ample.com/x", "'ex_ample.com' is not a valid registry host"),
    ("x:-bad", "tag '-bad'"),
    ("x@sha256:abc", "is not a sha256 digest"),
    ("x@md5", "is not a digest"),
    (" x", "whitespace"),
])
def test_messages_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_reference(text)
    assert problem in str(caught.value)


@pytest.mark.parametrize(("text", "registry", "path", "familiar"), [
    ("ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
    ("ubuntu:24.04", "docker.io", "library/ubuntu", "ubuntu:24.04"),
    ("docker.io/ratio1/x:t", "docker.io", "ratio1/x", "ratio1/x:t"),
    ("index.docker.io/library/x", "docker.io", "library/x", "x"),
    ("localhost:5000/acme/edge/x:t", "localhost:5000", "acme/edge/x", "localhost:5000/acme/edge/x:t"),
    ("localhost/x", "localhost", "x", "localhost/x"),
    ("ghcr.io/ratio1/base:1", "ghcr.io", "ratio1/base", "ghcr.io/ratio1/base:1"),
    ("[::1]:5000/x:y", "[::1]:5000", "x", "[::1]:5000/x:y"),
])
def test_docker_normalization(text: str, registry: str, path: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.path, str(ref)) == (registry, path, familiar)


def test_with_digest_and_with_tag() -> None:
    ref = parse_reference("localhost:5000/acme/x:t")
    d = "sha256:" + "a" * 64
    assert str(ref.with_digest(d)) == f"localhost:5000/acme/x@{d}"
    assert str(ref.with_tag("u")) == "localhost:5000/acme/x:u"
    with pytest.raises(ValueError, match="tag"):
        ref.with_tag("-no")


def test_imageref_parse_is_a_config_error_naming_where() -> None:
    with pytest.raises(ConfigError, match=r"^matrix.toml: images.x: 'A/b' is not"):
        ImageRef.parse("A/b", where="matrix.toml: images.x")
    assert ImageRef.parse("x", default_tag="latest").tag == "latest"


@pytest.mark.parametrize(("namespace", "problem"), [
    ("ratio1", None), ("localhost:5000/acme", None), ("ghcr.io/ratio1", None),
    ("localhost:5000", None), ("registry.example.com:443/a/b/c", None),
    ("Ratio1", "must be lowercase"), ("ratio1/", "empty path component"),
    ("ghcr.io/ratio1:v1", "names no tag or digest"), ("a@sha256:" + "0" * 64, "no tag or digest"),
])
def test_namespaces(namespace: str, problem: str | None) -> None:
    found = namespace_problem(namespace)
    assert (found is None) if problem is None else (problem in (found or ""))


@pytest.mark.parametrize("repo", ["localhost:5000/ratio1/x", "ghcr.io/ratio1/base_edge_node",
                                  "ratio1/base_edge_node_amd64_gpu", "a__b/c-d.e"])
def test_valid_repositories(repo: str) -> None:
    assert repository_problem(repo) is None
    assert "names no tag" in (repository_problem(repo + ":t") or "")


@pytest.mark.parametrize("text", ["acme/x:0\n", "acme/x\n", "acme/x@sha256:" + "a" * 64 + "\n"])
def test_a_trailing_newline_is_not_part_of_a_valid_name(text: str) -> None:
    """`$` in a pattern also matches before a final newline; names must not slip through."""
    with pytest.raises(ValueError, match="is not a valid image name"):
        parse_reference(text)


NAMEISH = st.text(alphabet="abAB09._-/:@ ", max_size=24)


@given(st.one_of(references().map(lambda parts: spell(*parts)), NAMEISH),
       st.one_of(TAG, st.text(alphabet="aZ09._-/:@+ ", max_size=12)))
@example("docker.io/a.b/c", "t").via("a spelling that does not parse back to itself")
@example("index.docker.io/library/x", "t").via("a Docker Hub alias")
@example("ratio1/x", "t@sha256:" + "a" * 64).via("a tag that is not one")
def test_a_repository_names_its_tags_as_a_full_parse_does(written: str, tag: str) -> None:
    """The plan names `<repo>:<tag>` through Repository.tagged, parsing the repository once:
    the same name, or the same error, as parsing the whole reference."""
    def full() -> str:
        return str(ImageRef.parse(f"{written}:{tag}", where="w", default_tag="latest"))

    try:
        expected = full()
    except ConfigError as exc:
        with pytest.raises(ConfigError) as caught:
            Repository.of(written).tagged(tag, where="w")
        assert str(caught.value) == str(exc)
        return
    assert Repository.of(written).tagged(tag, where="w") == expected


@given(references())
def test_the_name_part_and_its_canonical_repository(parts: tuple) -> None:  # type: ignore[type-arg]
    text = spell(*parts)
    ref = parse_reference(text)
    assert canonical_repository(name_part(text)) == ref.canonical_repository
