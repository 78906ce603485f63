"""Client for Python package indexes: PEP 691 JSON simple API, PEP 503 HTML as fallback.

The public API is synchronous; requests run concurrently on a thread pool sharing one
httpx client. httpx is imported inside the functions that talk to the network, so importing
this module (for its value types) stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import canonicalize_name

from bakery.httpbody import OutOfTime, TooLarge, read_body
from bakery.progress import SILENT, Progress

if TYPE_CHECKING:
    import httpx

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
USER_AGENT = "bakery-preflight (+https://github.com/ratio1)"
_CACHE_FORMAT = 1
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)

Api = Literal["json", "html", "none"]
_API_NAMES: dict[str, Api] = {"json": "json", "html": "html", "none": "none"}


class PackageIndexError(Exception):
    """Base class of every error the index client raises; names the index and the project."""

    def __init__(self, index_url: str, project: str, cause: str) -> None:
        self.index_url = index_url
        self.project = project
        self.cause = cause
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"index {self.index_url} for project {self.project!r}: {self.cause}"


class IndexUnavailable(PackageIndexError):
    """The index could not answer: network failure, timeout, HTTP error, not a simple API."""

    def describe(self) -> str:
        return f"index {self.index_url} is unavailable for project {self.project!r}: {self.cause}"


class OfflineCacheMiss(PackageIndexError):
    """Offline mode was asked for and the cache holds no answer for this (index, project)."""

    def describe(self) -> str:
        return (
            f"offline: no cached answer from index {self.index_url} for project "
            f"{self.project!r} ({self.cause}); run once without --offline to fill the cache"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexFile:
    """One distribution file listed on a project page."""

    filename: str
    url: str
    requires_python: str | None = None
    # False, True, or the yank reason (PEP 592): a reason always means yanked.
    yanked: bool | str = False
    hashes: tuple[tuple[str, str], ...] = ()
    core_metadata: bool = False

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not False

    def hash(self, algorithm: str = "sha256") -> str | None:
        return dict(self.hashes).get(algorithm)


@dataclass(frozen=True, slots=True)
class IndexRequest:
    """One (index, project) question; equal requests are fetched once."""

    index_url: str
    project: str

    def __post_init__(self) -> None:
        if not _PROJECT_NAME.match(self.project):
            raise ValueError(f"invalid project name {self.project!r}")
        # Normalised here so that spellings of one question compare (and dedupe) equal.
        object.__setattr__(self, "index_url", normalize_index_url(self.index_url))
        object.__setattr__(self, "project", str(canonicalize_name(self.project)))

    @property
    def page_url(self) -> str:
        return f"{self.index_url}{self.project}/"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectPage:
    """The answer for one request. ``found`` is False when the index says 404."""

    index_url: str
    project: str
    found: bool
    files: tuple[IndexFile, ...]
    fetched_at: float
    api: Api
    from_cache: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchOptions:
    """How to fetch: cache directory (None: no cache), freshness, offline, timeouts, retries."""

    cache_dir: Path | None = None
    ttl: float = 3600.0
    offline: bool = False
    # Seconds one project page may take in all, retries included (a trickling server);
    # seconds of silence that end an attempt (a server that accepts and never answers).
    timeout: float = 20.0
    silence: float = 5.0
    retries: int = 2
    backoff: float = 0.5
    max_workers: int = 8
    # The biggest answer accepted (decompressed); PyPI's largest project pages are a few MB.
    max_bytes: int = 64 * 1024 * 1024
    # Told (once per problem) when the cache cannot be written; the cache is optional.
    on_cache_error: Callable[[str], None] | None = None
    # Told how many pages each index is asked for, and each one answered (from the cache or
    # the network, an error included): a progress view per index.
    progress: Progress = SILENT


def normalize_index_url(url: str) -> str:
    """Return the index base URL with exactly one trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"invalid index URL {url!r}")
    return url.rstrip("/") + "/"


def fetch(request: IndexRequest, options: FetchOptions | None = None) -> ProjectPage:
    """Fetch one project page (see ``fetch_many``)."""
    return fetch_many([request], options)[request]


def fetch_many(
    requests: Iterable[IndexRequest], options: FetchOptions | None = None
) -> dict[IndexRequest, ProjectPage]:
    """Fetch every distinct (index, project) once, concurrently, through the cache.

    Raises the first failure in request order (``IndexUnavailable`` or ``OfflineCacheMiss``);
    the other failures, if any, are attached as notes. Nothing is silently defaulted.
    """
    opts = options or FetchOptions()
    unique = list(dict.fromkeys(requests))
    progress = opts.progress
    for req in unique:
        progress.expect(req.index_url)
    results: dict[IndexRequest, ProjectPage] = {}
    errors: dict[IndexRequest, PackageIndexError] = {}
    pending: list[IndexRequest] = []
    stale: dict[IndexRequest, ProjectPage] = {}
    now = time.time()
    for req in unique:
        cached = _read_cache(opts.cache_dir, req)
        if cached is not None and (opts.offline or now - cached.fetched_at < opts.ttl):
            results[req] = cached
            progress.done(req.index_url)
        elif opts.offline:
            where = f"cache {opts.cache_dir}" if opts.cache_dir else "no cache directory set"
            errors[req] = OfflineCacheMiss(req.index_url, req.project, where)
            progress.done(req.index_url)
        else:
            pending.append(req)
            if cached is not None:
                stale[req] = cached
    if pending:
        fetched = _fetch_network(pending, opts)
        for req, answer in fetched.items():
            if isinstance(answer, PackageIndexError):
                if req in stale:
                    # Never used silently, but worth knowing when the index is down.
                    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stale[req].fetched_at))
                    answer.add_note(
                        f"a cached answer from {when} exists: offline mode would use it"
                    )
                errors[req] = answer
            else:
                _write_cache(opts.cache_dir, answer, opts)
                results[req] = answer
    if errors:
        ordered = [errors[req] for req in unique if req in errors]
        first = ordered[0]
        for other in ordered[1:]:
            first.add_note(f"also: {other}")
        raise first
    return {req: results[req] for req in unique}


def _fetch_network(
    pending: list[IndexRequest], opts: FetchOptions
) -> dict[IndexRequest, ProjectPage | PackageIndexError]:
    import httpx

    from bakery.preflight.pool import map_daemon

    workers = max(1, min(opts.max_workers, len(pending)))
    client = httpx.Client(
        timeout=httpx.Timeout(min(opts.silence, opts.timeout)),
        limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
        headers={"Accept": ACCEPT, "User-Agent": USER_AGENT},
        follow_redirects=True,
    )

    def run(req: IndexRequest) -> ProjectPage | PackageIndexError:
        try:
            return _fetch_one(client, req, opts)
        except PackageIndexError as exc:
            return exc
        finally:
            opts.progress.done(req.index_url)

    # On Ctrl-C the client stays open: daemon threads may still be reading from it, and the
    # process is about to end anyway.
    answers = map_daemon(run, pending, workers=workers, name="bakery-index")
    client.close()
    return dict(zip(pending, answers, strict=True))


class _Timeout(Exception):
    """An attempt ran out of time: `cause` says how (silence, or a trickle past the deadline)."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    url: str
    content_type: str
    charset: str | None
    body: bytes


def _get(client: httpx.Client, url: str, opts: FetchOptions, deadline: float) -> _Answer:
    """One GET, bounded in total time (`deadline`) and in size (`opts.max_bytes`); the body
    is read only for a 200."""
    import httpx

    silence = max(0.001, min(opts.silence, deadline - time.monotonic()))
    try:
        with client.stream("GET", url, timeout=httpx.Timeout(silence)) as response:
            answer = _Answer(
                status=response.status_code,
                url=str(response.url),
                content_type=response.headers.get("content-type", ""),
                charset=response.charset_encoding,
                body=b"",
            )
            if response.status_code != 200:
                return answer
            try:
                body = read_body(response.iter_bytes(), limit=opts.max_bytes,
                                 declared=response.headers.get("content-length", ""),
                                 deadline=deadline)
            except TooLarge as exc:
                size = "more than" if exc.declared is None else f"{exc.declared} bytes, more than"
                raise _TooLarge(f"the answer is {size} the {opts.max_bytes} bytes this client"
                                " accepts") from None
            except OutOfTime as exc:
                raise _Timeout(f"the answer did not complete within {opts.timeout:g}s"
                               f" ({exc.received} bytes received)") from None
            return _Answer(answer.status, answer.url, answer.content_type, answer.charset, body)
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout):
            raise _Timeout(f"no connection within {silence:.3g}s") from None
        raise _Timeout(f"no answer within {silence:.3g}s") from None


class _TooLarge(Exception):
    """The answer is bigger than FetchOptions.max_bytes."""


def _fetch_one(client: httpx.Client, req: IndexRequest, opts: FetchOptions) -> ProjectPage:
    import httpx

    attempts = max(0, opts.retries) + 1
    deadline = time.monotonic() + opts.timeout
    cause = "no attempt made"
    made = 0
    for attempt in range(attempts):
        if attempt:
            pause = opts.backoff * 2 ** (attempt - 1)
            if time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
        made += 1
        try:
            answer = _get(client, req.page_url, opts, deadline)
        except (_Timeout, _TooLarge) as exc:
            # an index that is silent, trickles or floods will not do better on a retry
            raise IndexUnavailable(req.index_url, req.project, str(exc)) from None
        except httpx.InvalidURL as exc:
            raise IndexUnavailable(req.index_url, req.project, f"invalid URL: {exc}") from None
        except httpx.HTTPError as exc:
            cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            continue
        status = answer.status
        if status == 404:
            return ProjectPage(
                index_url=req.index_url,
                project=req.project,
                found=False,
                files=(),
                fetched_at=time.time(),
                api="none",
            )
        # 5xx and 429 are transient by nature; any other non-200 will not improve on retry.
        if status >= 500 or status == 429:
            cause = f"HTTP {status} from {answer.url}"
            continue
        if status != 200:
            raise IndexUnavailable(req.index_url, req.project, f"HTTP {status} from {answer.url}")
        try:
            text = answer.body.decode(answer.charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            raise IndexUnavailable(
                req.index_url, req.project,
                f"the answer from {answer.url} is not text in {answer.charset or 'utf-8'}",
            ) from None
        api, files = parse_response(
            answer.content_type,
            text,
            answer.url,
            index_url=req.index_url,
            project=req.project,
        )
        return ProjectPage(
            index_url=req.index_url,
            project=req.project,
            found=True,
            files=files,
            fetched_at=time.time(),
            api=api,
        )
    suffix = f" (after {made} attempts)" if made > 1 else ""
    raise IndexUnavailable(req.index_url, req.project, cause + suffix)


def parse_response(
    content_type: str, body: str, page_url: str, *, index_url: str, project: str
) -> tuple[Api, tuple[IndexFile, ...]]:
    """Parse a project page by its content type; anything but a simple-API page is an error."""
    mime = content_type.split(";", 1)[0].strip().lower()
    try:
        if mime == JSON_CONTENT_TYPE:
            return "json", parse_json_page(body, page_url)
        if mime in HTML_CONTENT_TYPES:
            return "html", parse_html_page(body, page_url)
    except ValueError as exc:
        raise IndexUnavailable(index_url, project, f"invalid simple-API page: {exc}") from None
    except RecursionError:
        raise IndexUnavailable(
            index_url, project, "invalid simple-API page: nested too deeply"
        ) from None
    shown = mime or "none"
    raise IndexUnavailable(
        index_url, project, f"not a simple-API answer (content-type {shown!r} from {page_url})"
    )


def parse_json_page(body: str, page_url: str) -> tuple[IndexFile, ...]:
    """Parse a PEP 691 JSON project page into its strict model (`_json_page_model`): bounded
    in depth before parsing, no NaN, every field bakery reads of the type PEP 691 gives it;
    relative file URLs resolve against ``page_url``. ValueError with one line otherwise."""
    from pydantic import ValidationError

    from bakery.jsonfile import nesting_depth, no_constant

    depth = nesting_depth(body)
    if depth > _MAX_PAGE_DEPTH:
        raise ValueError(f"nested too deeply ({depth} levels, a page has {_MAX_PAGE_DEPTH} at"
                         " most)")
    data = json.loads(body, parse_constant=no_constant)
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValueError("JSON without a 'files' list")
    meta = data.get("meta")
    _check_api_version(meta.get("api-version") if isinstance(meta, dict) else None)
    try:
        page = _json_page_model().model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from None
    return tuple(
        _make_file(
            filename=entry.filename,
            href=entry.url,
            base=page_url,
            requires_python=_str_or_none(entry.requires_python),
            yanked=entry.yanked,
            hashes=entry.hashes,
            core_metadata=bool(entry.core_metadata if entry.core_metadata is not None
                               else entry.dist_info_metadata),
        )
        for entry in page.files
    )


# a PEP 691 page nests 4 deep (page, files, file, hashes); anything deeper is not one
_MAX_PAGE_DEPTH = 16


@functools.cache
def _json_page_model() -> type[Any]:
    """The PEP 691 project page as a strict model, built on first use (commands that never
    read an index do not pay for the schema). Fields bakery does not read are ignored, as
    PEP 691 asks of clients."""
    from pydantic import ConfigDict, Field, StrictBool, StrictStr

    from bakery.frozen import Foreign

    class _Entry(Foreign):
        model_config = ConfigDict(populate_by_name=True)

        filename: StrictStr
        url: StrictStr
        hashes: dict[StrictStr, StrictStr] = Field(default_factory=dict)
        requires_python: StrictStr | None = Field(None, alias="requires-python")
        yanked: StrictBool | StrictStr = False
        core_metadata: StrictBool | dict[StrictStr, StrictStr] | None = Field(
            None, alias="core-metadata")
        dist_info_metadata: StrictBool | dict[StrictStr, StrictStr] | None = Field(
            None, alias="dist-info-metadata")

    class _Page(Foreign):
        files: tuple[_Entry, ...]

    return _Page


def parse_html_page(body: str, page_url: str) -> tuple[IndexFile, ...]:
    """Parse a PEP 503 HTML project page (anchors and their data-* attributes)."""
    parser = _AnchorParser()
    parser.feed(body)
    parser.close()
    _check_api_version(parser.api_version)
    if not parser.anchors and parser.api_version is None:
        # a project page lists its files as links; a page with neither links nor the
        # simple-API version marker is some other page (a login wall, a proxy's error)
        raise ValueError("an HTML page with no links and no simple-API version: not an index page")
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        yanked: object = False
        if "data-yanked" in attrs:
            yanked = attrs["data-yanked"] or True
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        files.append(
            _make_file(
                filename=text.strip(),
                href=href,
                base=base,
                requires_python=_str_or_none(attrs.get("data-requires-python")),
                yanked=yanked,
                hashes={},
                core_metadata=metadata is not None and metadata.lower() != "false",
            )
        )
    return tuple(files)


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        # convert_charrefs unescapes attribute values too: "&lt;3.13" arrives as "<3.13".
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.base: str | None = None
        self.api_version: str | None = None
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self._flush()
            self._open, self._text = values, []
        elif tag == "base" and self.base is None:
            self.base = values.get("href")
        elif tag == "meta" and values.get("name") == "pypi:repository-version":
            self.api_version = values.get("content")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._flush()

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open, "".join(self._text)))
        self._open, self._text = None, []


def _check_api_version(version: object) -> None:
    # PEP 629: a client must refuse a major version it does not know.
    if version is None:
        return
    major = str(version).split(".", 1)[0]
    if major != "1":
        raise ValueError(f"unsupported simple-API version {version!r} (this client speaks 1.x)")


def _make_file(
    *,
    filename: str,
    href: str,
    base: str,
    requires_python: str | None,
    yanked: object,
    hashes: Mapping[str, str],
    core_metadata: bool,
) -> IndexFile:
    url, fragment = urldefrag(urljoin(base, href))
    all_hashes = dict(hashes)
    # PEP 503 carries the hash in the URL fragment, e.g. "#sha256=...".
    if "=" in fragment:
        algo, _, value = fragment.partition("=")
        all_hashes.setdefault(algo, value)
    if not filename:
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return IndexFile(
        filename=filename,
        url=url,
        requires_python=requires_python,
        yanked=_yanked(yanked),
        hashes=tuple(sorted(all_hashes.items())),
        core_metadata=core_metadata,
    )


def _yanked(value: object) -> bool | str:
    if isinstance(value, str):
        return value or True
    return bool(value)


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


# -- disk cache --------------------------------------------------------------------------


def cache_path(cache_dir: Path, req: IndexRequest) -> Path:
    """Where the answer for ``req`` is cached: one directory per index, one file per project."""
    index_key = hashlib.sha256(req.index_url.encode()).hexdigest()[:16]
    return cache_dir / index_key / f"{req.project}.json"


def _read_cache(cache_dir: Path | None, req: IndexRequest) -> ProjectPage | None:
    if cache_dir is None:
        return None
    path = cache_path(cache_dir, req)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None  # a FIFO or a directory in the cache is no answer (and never waited on)
        data = json.loads(path.read_text(encoding="utf-8"))
        # An entry for another index or project (hash clash, hand edit) is not an answer.
        if (
            data["format"] != _CACHE_FORMAT
            or data["index_url"] != req.index_url
            or data["project"] != req.project
        ):
            return None
        files = tuple(_file_from_json(item) for item in data["files"])
        return ProjectPage(
            index_url=req.index_url,
            project=req.project,
            found=bool(data["found"]),
            files=files,
            fetched_at=float(data["fetched_at"]),
            api=_API_NAMES[data["api"]],
            from_cache=True,
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        # Missing or unreadable entries are a miss; the next online run rewrites them.
        return None


def _write_cache(cache_dir: Path | None, page: ProjectPage, opts: FetchOptions) -> None:
    """Store `page`; a cache that cannot be written is reported to `opts.on_cache_error` and
    otherwise ignored (the answer is already in hand)."""
    if cache_dir is None:
        return
    path = cache_path(cache_dir, IndexRequest(page.index_url, page.project))
    payload = {
        "format": _CACHE_FORMAT,
        "index_url": page.index_url,
        "project": page.project,
        "fetched_at": page.fetched_at,
        "found": page.found,
        "api": page.api,
        "files": [_file_to_json(f) for f in page.files],
    }
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, separators=(",", ":"))
        Path(tmp).replace(path)
        tmp = None
    except OSError as exc:
        if opts.on_cache_error is not None:
            opts.on_cache_error(f"{cache_dir}: cannot write the index cache: {exc.strerror}")
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()


def _file_to_json(f: IndexFile) -> dict[str, Any]:
    return {
        "filename": f.filename,
        "url": f.url,
        "requires_python": f.requires_python,
        "yanked": f.yanked,
        "hashes": dict(f.hashes),
        "core_metadata": f.core_metadata,
    }


def _file_from_json(item: dict[str, Any]) -> IndexFile:
    return IndexFile(
        filename=str(item["filename"]),
        url=str(item["url"]),
        requires_python=_str_or_none(item.get("requires_python")),
        yanked=_yanked(item.get("yanked", False)),
        hashes=tuple(sorted((str(k), str(v)) for k, v in item.get("hashes", {}).items())),
        core_metadata=bool(item.get("core_metadata", False)),
    )
