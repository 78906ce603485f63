"""The index client against a real HTTP index on 127.0.0.1."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from bakery.preflight.index import (
    FetchOptions,
    IndexFile,
    IndexRequest,
    IndexUnavailable,
    OfflineCacheMiss,
    PackageIndexError,
    cache_path,
    fetch,
    fetch_many,
    parse_html_page,
    parse_json_page,
)
from tests.support.index_server import FIXTURES, IndexServer, negotiate

FAST = FetchOptions(timeout=5.0, retries=0, backoff=0.0)


def ns() -> str:
    return uuid.uuid4().hex[:12]


def by_name(files: tuple[IndexFile, ...]) -> dict[str, IndexFile]:
    return {f.filename: f for f in files}


# -- formats ---------------------------------------------------------------------------


def test_json_is_preferred_and_parsed(index_server: IndexServer) -> None:
    page = fetch(IndexRequest(index_server.url(), "torch"), FAST)
    assert page.found and page.api == "json" and not page.from_cache
    files = by_name(page.files)
    wheel = files["torch-2.9.1+cu128-cp313-cp313-manylinux_2_28_x86_64.whl"]
    # Relative URL resolved against the page; the '+' stays percent-encoded as served.
    assert wheel.url == (
        f"{index_server.base}/files/torch-2.9.1%2Bcu128-cp313-cp313-manylinux_2_28_x86_64.whl"
    )
    assert wheel.requires_python == ">=3.10"
    assert wheel.hash("sha256") is not None and wheel.core_metadata
    assert not wheel.is_yanked


def test_html_only_index_is_the_fallback(index_server: IndexServer) -> None:
    page = fetch(IndexRequest(index_server.url("html-only"), "yanked-only"), FAST)
    assert page.found and page.api == "html"
    files = by_name(page.files)
    reasoned = files["yanked_only-1.2.0-cp313-cp313-manylinux_2_28_x86_64.whl"]
    bare = files["yanked_only-1.2.0-cp313-cp313-manylinux_2_28_aarch64.whl"]
    assert reasoned.yanked == "broken ABI, use 1.1.0 & wait"
    assert bare.yanked is True
    assert files["yanked_only-1.1.0-cp313-cp313-manylinux_2_28_x86_64.whl"].yanked is False
    assert reasoned.url.startswith(f"{index_server.base}/files/")
    assert "#" not in reasoned.url and reasoned.hash("sha256")


def test_html_entities_in_requires_python(index_server: IndexServer) -> None:
    page = fetch(IndexRequest(index_server.url("html-only"), "old-python"), FAST)
    assert {f.requires_python for f in page.files} == {"<3.13,>=3.9"}


@pytest.mark.parametrize("project", sorted(p.name for p in FIXTURES.iterdir()))
def test_json_and_html_forms_say_the_same(index_server: IndexServer, project: str) -> None:
    json_page = fetch(IndexRequest(index_server.url("simple"), project), FAST)
    html_page = fetch(IndexRequest(index_server.url("html-only"), project), FAST)
    assert (json_page.api, html_page.api) == ("json", "html")
    assert json_page.files == html_page.files


def test_dist_info_metadata_attribute_is_understood(index_server: IndexServer) -> None:
    page = fetch(IndexRequest(index_server.url("html-only"), "x86-bindings"), FAST)
    assert page.files and all(f.core_metadata for f in page.files)


def test_redirect_is_followed_and_urls_resolve_from_the_final_page(
    index_server: IndexServer,
) -> None:
    page = fetch(IndexRequest(index_server.url("redirect"), "quantize"), FAST)
    assert page.found and all(f.url.startswith(f"{index_server.base}/files/") for f in page.files)


def test_fixture_server_negotiates_like_an_index() -> None:
    assert negotiate("text/html") == "text/html"
    assert negotiate("") == "text/html"
    assert negotiate("application/vnd.pypi.simple.v1+json, text/html;q=0.01").endswith("+json")
    assert negotiate("application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01").endswith(
        "v1+html"
    )


def test_html_base_href_and_missing_anchor_text() -> None:
    body = (
        '<html><head><base href="https://files.example/pkgs/"></head><body>'
        '<a href="x-1.0-py3-none-any.whl#md5=abc" data-requires-python="">  </a>'
        '<a href="/abs/x-1.0.tar.gz" data-yanked="gone">x-1.0.tar.gz</a>'
        "<a>no href</a></body></html>"
    )
    files = parse_html_page(body, "https://index.example/simple/x/")
    assert [f.url for f in files] == [
        "https://files.example/pkgs/x-1.0-py3-none-any.whl",
        "https://files.example/abs/x-1.0.tar.gz",
    ]
    assert files[0].filename == "x-1.0-py3-none-any.whl"
    assert files[0].hashes == (("md5", "abc"),) and files[0].requires_python is None
    assert files[1].yanked == "gone"


def test_unknown_major_api_version_is_refused() -> None:
    body = json.dumps({"meta": {"api-version": "2.0"}, "files": []})
    with pytest.raises(ValueError, match="unsupported simple-API version"):
        parse_json_page(body, "https://index.example/simple/x/")
    with pytest.raises(ValueError, match="unsupported simple-API version"):
        parse_html_page('<meta name="pypi:repository-version" content="2.1">', "https://i.example/")


# -- answers that are not a page ----------------------------------------------------


def test_404_means_not_on_this_index(index_server: IndexServer) -> None:
    page = fetch(IndexRequest(index_server.url(), "no-such-project"), FAST)
    assert page.found is False and page.files == () and page.api == "none"


def test_503_is_an_error_naming_index_and_project(index_server: IndexServer) -> None:
    url = index_server.url("status/503", ns=ns())
    with pytest.raises(IndexUnavailable) as info:
        fetch(IndexRequest(url, "torch"), FAST)
    message = str(info.value)
    assert url in message and "'torch'" in message and "HTTP 503" in message
    assert info.value.index_url == url and info.value.project == "torch"


def test_403_is_an_error_and_not_retried(index_server: IndexServer) -> None:
    space = ns()
    url = index_server.url("status/403", ns=space)
    with pytest.raises(IndexUnavailable, match="HTTP 403"):
        fetch(IndexRequest(url, "torch"), FetchOptions(retries=3, backoff=0.0))
    assert index_server.count(f"/ns/{space}/status/403/torch/") == 1


def test_connection_refused_names_the_index(dead_index_url: str) -> None:
    with pytest.raises(IndexUnavailable) as info:
        fetch(IndexRequest(dead_index_url, "torch"), FetchOptions(retries=1, backoff=0.0))
    message = str(info.value)
    assert dead_index_url in message and "'torch'" in message
    assert "ConnectError" in message and "after 2 attempts" in message


def test_5xx_is_retried_within_the_bound(index_server: IndexServer) -> None:
    space = ns()
    url = index_server.url("flaky/2", ns=space)
    page = fetch(IndexRequest(url, "quantize"), FetchOptions(retries=2, backoff=0.01))
    assert page.found and page.files
    assert index_server.count(f"/ns/{space}/flaky/2/quantize/") == 3

    space = ns()
    url = index_server.url("flaky/2", ns=space)
    with pytest.raises(IndexUnavailable, match=r"HTTP 503 .*after 2 attempts"):
        fetch(IndexRequest(url, "quantize"), FetchOptions(retries=1, backoff=0.01))


def test_timeout_is_an_error(index_server: IndexServer) -> None:
    url = index_server.url("slow/2", ns=ns())
    started = time.monotonic()
    with pytest.raises(IndexUnavailable, match=r"no answer within 0\.3s"):
        fetch(IndexRequest(url, "quantize"), FetchOptions(timeout=0.3, retries=0))
    assert time.monotonic() - started < 1.5


def test_a_non_simple_api_answer_is_an_error(index_server: IndexServer) -> None:
    url = index_server.url("not-simple")
    with pytest.raises(IndexUnavailable, match=r"not a simple-API answer .*'application/json'"):
        fetch(IndexRequest(url, "torch"), FAST)


def test_every_failure_is_reported(index_server: IndexServer, dead_index_url: str) -> None:
    good = IndexRequest(index_server.url(), "quantize")
    bad1 = IndexRequest(index_server.url("status/500", ns=ns()), "torch")
    bad2 = IndexRequest(dead_index_url, "tokenizers")
    with pytest.raises(PackageIndexError) as info:
        fetch_many([good, bad1, bad2], FAST)
    assert info.value.index_url == bad1.index_url
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and dead_index_url in notes[0] and "'tokenizers'" in notes[0]


# -- requests, dedupe, concurrency ------------------------------------------------------


def test_requests_are_normalised() -> None:
    a = IndexRequest("http://127.0.0.1:1/simple", "Flash_Attn")
    b = IndexRequest("http://127.0.0.1:1/simple/", "flash.attn")
    assert a == b and a.project == "flash-attn" and a.index_url.endswith("/simple/")
    assert a.page_url == "http://127.0.0.1:1/simple/flash-attn/"
    with pytest.raises(ValueError, match="invalid project name"):
        IndexRequest("http://127.0.0.1:1/simple/", "../etc")
    with pytest.raises(ValueError, match="invalid index URL"):
        IndexRequest("ftp://127.0.0.1/simple/", "x")


def test_one_request_per_index_and_project(index_server: IndexServer) -> None:
    space = ns()
    url = index_server.url("simple", ns=space)
    asked = [
        IndexRequest(url, "Torch"),
        IndexRequest(url.rstrip("/"), "torch"),
        IndexRequest(url, "quantize"),
        IndexRequest(url, "torch"),
    ] * 5
    pages = fetch_many(asked, FetchOptions(max_workers=8))
    assert len(pages) == 2
    assert index_server.count(f"/ns/{space}/simple/torch/") == 1
    assert index_server.count(f"/ns/{space}/simple/quantize/") == 1
    assert pages[IndexRequest(url, "TORCH")].files


def test_requests_run_concurrently(index_server: IndexServer) -> None:
    projects = ["torch", "quantize", "stable-abi", "legacy-ext", "old-python", "pure-python"]
    url = index_server.url("slow/0.4", ns=ns())
    started = time.monotonic()
    pages = fetch_many([IndexRequest(url, p) for p in projects], FetchOptions(max_workers=8))
    elapsed = time.monotonic() - started
    assert all(page.found for page in pages.values())
    # Six 0.4 s answers one after another would take 2.4 s.
    assert elapsed < 1.6


def test_result_order_follows_the_requests(index_server: IndexServer) -> None:
    url = index_server.url()
    asked = [IndexRequest(url, p) for p in ("quantize", "torch", "stable-abi")]
    assert list(fetch_many(asked, FAST)) == asked


# -- cache ------------------------------------------------------------------------------


def test_cache_hit_works_with_the_server_stopped(
    private_index: IndexServer, tmp_path: Path
) -> None:
    options = FetchOptions(cache_dir=tmp_path, ttl=3600, retries=0)
    request = IndexRequest(private_index.url(), "torch")
    first = fetch(request, options)
    missing = fetch(IndexRequest(private_index.url(), "nothing-here"), options)
    private_index.stop()

    again = fetch(request, options)
    assert again.from_cache and again.files == first.files
    assert again.fetched_at == pytest.approx(first.fetched_at)
    assert fetch(IndexRequest(private_index.url(), "nothing-here"), options).found is False
    assert not missing.found
    # Nothing listens any more: a stale entry is refetched, and that fails loudly.
    with pytest.raises(IndexUnavailable, match="ConnectError") as info:
        fetch(request, FetchOptions(cache_dir=tmp_path, ttl=0, retries=0))
    assert "offline mode would use it" in info.value.__notes__[0]
    # Offline, the stale entry is fine.
    assert fetch(request, FetchOptions(cache_dir=tmp_path, ttl=0, offline=True)).from_cache


def test_fresh_entries_make_no_request_and_stale_ones_do(
    index_server: IndexServer, tmp_path: Path
) -> None:
    space = ns()
    request = IndexRequest(index_server.url("simple", ns=space), "quantize")
    path = f"/ns/{space}/simple/quantize/"
    fetch(request, FetchOptions(cache_dir=tmp_path, ttl=3600))
    fetch(request, FetchOptions(cache_dir=tmp_path, ttl=3600))
    assert index_server.count(path) == 1
    refreshed = fetch(request, FetchOptions(cache_dir=tmp_path, ttl=0))
    assert index_server.count(path) == 2 and not refreshed.from_cache


def test_offline_miss_is_a_clear_error(tmp_path: Path) -> None:
    request = IndexRequest("http://127.0.0.1:9/simple/", "torch")
    with pytest.raises(OfflineCacheMiss) as info:
        fetch(request, FetchOptions(cache_dir=tmp_path, offline=True))
    message = str(info.value)
    assert "offline" in message and "http://127.0.0.1:9/simple/" in message
    assert "'torch'" in message and str(tmp_path) in message
    with pytest.raises(OfflineCacheMiss, match="no cache directory set"):
        fetch(request, FetchOptions(offline=True))


def test_cache_files_are_written_atomically_and_checked(
    index_server: IndexServer, tmp_path: Path
) -> None:
    request = IndexRequest(index_server.url(), "stable-abi")
    fetch(request, FetchOptions(cache_dir=tmp_path))
    entry = cache_path(tmp_path, request)
    assert entry.is_file()
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temp files left
    data = json.loads(entry.read_text())
    assert data["index_url"] == request.index_url and data["project"] == "stable-abi"

    entry.write_text("{not json")
    with pytest.raises(OfflineCacheMiss):
        fetch(request, FetchOptions(cache_dir=tmp_path, offline=True))
    assert fetch(request, FetchOptions(cache_dir=tmp_path)).files  # refetched and rewritten
    assert fetch(request, FetchOptions(cache_dir=tmp_path, offline=True)).from_cache


def test_the_network_rule_is_enforced() -> None:
    with pytest.raises(AssertionError, match=r"only 127\.0\.0\.1 allowed"):
        fetch(IndexRequest("https://pypi.org/simple/", "torch"), FAST)
