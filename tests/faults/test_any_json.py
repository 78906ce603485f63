"""Arbitrary JSON fed to every reader of outside documents: each either gives its model or
refuses in one line naming the source, with the error type that carries the documented exit
code (1 for an answer from outside); never another exception, never a traceback."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bakery.registry.documents import (
    ImageManifest,
    ManifestDescriptor,
    TokenAnswer,
    manifest_or_index,
    parse,
)
from bakery.registry.errors import RegistryError

SOURCE = "registry 127.0.0.1:5000: 127.0.0.1:5000/x:t"

_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) \
    | st.sampled_from(["sha256:" + "a" * 64, "linux", "amd64", -1, 2**70])
_keys = st.sampled_from(["config", "layers", "manifests", "digest", "size", "platform", "os",
                         "architecture", "mediaType", "token", "access_token", "x"])
documents = st.recursive(
    _leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=6),
    max_leaves=30)


def _body(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


def _refused_in_one_line(exc: RegistryError) -> None:
    assert exc.exit_code == 1
    message = str(exc)
    assert "\n" not in message and message.startswith(SOURCE), message


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_json_as_a_manifest(doc: Any) -> None:
    try:
        found = manifest_or_index(_body(doc), SOURCE)
    except RegistryError as exc:
        _refused_in_one_line(exc)
        return
    if isinstance(found, ImageManifest):  # what was kept is what a manifest must be
        assert found.layers and all(d.size >= 0 for d in (found.config, *found.layers))


@settings(max_examples=200, deadline=None)
@given(documents, st.sampled_from([TokenAnswer, ManifestDescriptor]))
def test_any_json_as_a_token_answer_or_descriptor(doc: Any, model: type[Any]) -> None:
    try:
        parse(_body(doc), model, SOURCE, "the answer")
    except RegistryError as exc:
        _refused_in_one_line(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_a_manifest(body: bytes) -> None:
    try:
        manifest_or_index(body, SOURCE)
    except RegistryError as exc:
        _refused_in_one_line(exc)


# PEP 691 pages: arbitrary JSON is either a page or an IndexUnavailable naming the index and
# project (exit 1 through every command that reads an index)

INDEX = "http://127.0.0.1:9/simple/"
PAGE = "application/vnd.pypi.simple.v1+json"


def _page_or_refusal(body: str) -> None:
    from bakery.preflight.index import IndexUnavailable, parse_response

    try:
        parse_response(PAGE, body, INDEX + "torch/", index_url=INDEX, project="torch")
    except IndexUnavailable as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert message.startswith(f"index {INDEX} is unavailable for project 'torch': "
                                  "invalid simple-API page: "), message


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_json_as_a_simple_api_page(doc: Any) -> None:
    _page_or_refusal(json.dumps(doc, allow_nan=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(
    st.sampled_from(["filename", "url", "hashes", "requires-python", "yanked",
                     "core-metadata", "dist-info-metadata"]),
    _leaf | st.dictionaries(st.text(max_size=5), _leaf, max_size=2), max_size=7), max_size=3))
def test_any_file_entries_on_a_simple_api_page(files: list[dict[str, Any]]) -> None:
    _page_or_refusal(json.dumps({"meta": {"api-version": "1.1"}, "files": files},
                                allow_nan=True))


def test_damaged_simple_api_pages_say_where() -> None:
    import pytest

    from bakery.preflight.index import IndexUnavailable, parse_response

    file = {"filename": "torch-2.9.1-py3-none-any.whl", "url": "torch.whl"}
    cases = {
        "files.0.filename: Input should be a valid string": {**file, "filename": 5},
        "files.0.hashes: Input should be a valid dictionary": {**file, "hashes": ["x"]},
        "files.0.hashes.sha256: Input should be a valid string": {**file,
                                                                  "hashes": {"sha256": 1}},
        "files.0.yanked.bool: Input should be a valid boolean": {**file, "yanked": 3},
        "files.0.requires-python: Input should be a valid string": {**file,
                                                                    "requires-python": 3},
    }
    for reason, entry in cases.items():
        body = json.dumps({"meta": {"api-version": "1.1"}, "files": [entry]})
        with pytest.raises(IndexUnavailable, match=f"invalid simple-API page: {reason}"):
            parse_response(PAGE, body, INDEX, index_url=INDEX, project="torch")
    for body, reason in (('{"files": [], "x": NaN}', "NaN is not a JSON number"),
                         ('{"files": ' + "[" * 40 + "]" * 40 + "}", "nested too deeply")):
        with pytest.raises(IndexUnavailable, match=f"invalid simple-API page: {reason}"):
            parse_response(PAGE, body, INDEX, index_url=INDEX, project="torch")


# files the user gives (results file, lock manifest, preflight lock): a model or a ConfigError
# (exit 2) in one line naming the file

_file_keys = st.sampled_from(["schema_version", "targets", "base", "digests", "image", "dir",
                              "duration_s", "jobs", "verify", "size", "status", "id", "x"])
file_documents = st.recursive(
    _leaf | st.just(1) | st.just(2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_file_keys, inner, max_size=5),
    max_leaves=25).map(lambda doc: {"schema_version": 1, **doc} if isinstance(doc, dict)
                       else doc)


@settings(max_examples=300, deadline=None)
@given(file_documents, st.sampled_from(["results", "locks", "preflight"]))
def test_any_json_as_a_file_the_user_gave(doc: Any, reader: str) -> None:
    import tempfile
    from pathlib import Path

    from bakery.bake.results import load_results
    from bakery.errors import ConfigError
    from bakery.lockfile.manifest import read_manifest
    from bakery.preflight.lock import read_lock

    read = {"results": load_results, "locks": read_manifest, "preflight": read_lock}[reader]
    if reader == "locks" and isinstance(doc, dict) and doc.get("schema_version") == 1:
        doc = {**doc, "schema_version": 2}  # the manifest's version: reach its model
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.json"
        path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
        try:
            read(path)
        except ConfigError as exc:
            assert exc.exit_code == 2
            message = str(exc)
            assert "\n" not in message and message.startswith(f"{path}: "), message
