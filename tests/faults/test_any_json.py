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
