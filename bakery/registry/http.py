"""The registry's HTTP API (httpx), anonymous: where bakery reads public images itself.

Anonymous bearer tokens (Docker Hub's auth flow) are fetched when the registry asks for one.
A registry on localhost or 127.0.0.1 is spoken to over plain HTTP, like docker does. Every read
of one image has a total deadline (a registry that trickles bytes is given up, not waited on),
and an answer bigger than `MAX_DOCUMENT` is refused before it is read.
"""

from __future__ import annotations

import re
import time
from types import TracebackType
from typing import TYPE_CHECKING

from bakery.httpbody import OutOfTime, TooLarge, read_body
from bakery.registry.documents import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_DOCUMENT,
    TokenAnswer,
    check_digest,
    parse,
)
from bakery.registry.errors import ImageNotFound, RegistryError
from bakery.registry.reference import Endpoint, endpoint

if TYPE_CHECKING:
    import httpx

_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
DEADLINE = 20.0  # seconds for every read of one image, like the package indexes' total


class _OutOfTime(Exception):
    pass


class HttpReader:
    """Reads manifests and blobs of one image's repository; use as a context manager. Each
    answer is bounded in size and the whole read in time (`deadline` seconds from the start)."""

    def __init__(self, reference: str, *, deadline: float = DEADLINE,
                 allow_digest: bool = True) -> None:
        self.reference = reference
        self.ref: Endpoint = endpoint(reference, allow_digest=allow_digest)
        self.seconds = deadline
        self.token: str | None = None
        self._client: httpx.Client | None = None
        self._deadline = 0.0

    @property
    def source(self) -> str:
        return f"registry {self.ref.registry}: {self.reference}"

    def __enter__(self) -> HttpReader:
        import httpx

        self._deadline = time.monotonic() + self.seconds
        self._client = httpx.Client(follow_redirects=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._client is not None:
            self._client.close()

    def manifest(self, reference: str | None = None) -> bytes:
        """The manifest or index at `reference` (a tag or digest; the reader's own by
        default), as served; by digest, checked against it."""
        reference = reference or self.ref.reference
        body = self._get(f"{self.ref.base}/manifests/{reference}",
                         (*INDEX_TYPES, *MANIFEST_TYPES), reference)
        if reference.startswith("sha256:"):
            check_digest(body, reference, self.source)
        return body

    def blob(self, digest: str) -> bytes:
        body = self._get(f"{self.ref.base}/blobs/{digest}", (), digest)
        check_digest(body, digest, self.source)
        return body

    def _get(self, url: str, accept: tuple[str, ...], what: str) -> bytes:
        import httpx

        try:
            status, body, challenge = self._fetch(url, accept)
            if status == 401 and self.token is None:
                self.token = self._token(challenge)
                status, body, challenge = self._fetch(url, accept)
        except _OutOfTime:
            raise RegistryError(f"{self.source}: no complete answer within {self.seconds:g}s"
                                f" (reading {what})") from None
        except httpx.TimeoutException:
            raise RegistryError(f"{self.source}: no complete answer within {self.seconds:g}s"
                                f" (reading {what})") from None
        except httpx.HTTPError as exc:
            raise RegistryError(
                f"registry {self.ref.registry} is unreachable for {self.reference}:"
                f" {type(exc).__name__}: {_one_line(str(exc))}"
            ) from None
        if status == 404:
            raise ImageNotFound(f"{self.source}: HTTP 404 for {what}: not found")
        if status != 200:
            raise RegistryError(f"{self.source}: HTTP {status} for {what}")
        return body

    def _fetch(self, url: str, accept: tuple[str, ...],
               params: dict[str, str] | None = None,
               auth: bool = True) -> tuple[int, bytes, str]:
        """(status, body, www-authenticate) of one GET within the deadline; the body read
        only up to MAX_DOCUMENT bytes."""
        import httpx

        assert self._client is not None, "HttpReader is used as a context manager"
        headers = {"Accept": ", ".join(accept)} if accept else {}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime
        with self._client.stream("GET", url, headers=headers, params=params,
                                 timeout=httpx.Timeout(left)) as response:
            try:
                body = read_body(response.iter_raw(), limit=MAX_DOCUMENT,
                                 declared=response.headers.get("content-length", ""),
                                 deadline=self._deadline)
            except TooLarge as exc:
                size = "more than" if exc.declared is None else f"{exc.declared} bytes, more than"
                raise RegistryError(f"{self.source}: the answer for {url} is {size} the"
                                    f" {MAX_DOCUMENT} bytes bakery reads") from None
            except OutOfTime:
                raise _OutOfTime from None
            return (response.status_code, body, response.headers.get("www-authenticate", ""))

    def _token(self, challenge: str) -> str:
        if not challenge.lower().startswith("bearer "):
            raise RegistryError(
                f"registry {self.ref.registry} asks for credentials ({challenge or 'no'}"
                " challenge); bakery resolves public base images anonymously"
            )
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"registry {self.ref.registry}: its token challenge names no"
                                f" usable realm ({realm!r})")
        params.setdefault("scope", f"repository:{self.ref.repository}:pull")
        status, body, _ = self._fetch(realm, (), params, auth=False)
        if status != 200:
            raise RegistryError(f"registry {self.ref.registry}: token request to {realm}"
                                f" answered HTTP {status}")
        answer = parse(body, TokenAnswer, f"registry {self.ref.registry}",
                       f"the token answer of {realm}")
        token = answer.token or answer.access_token
        if not token:
            raise RegistryError(f"registry {self.ref.registry}: {realm} returned no token")
        return token


def _one_line(text: str) -> str:
    return " ".join(text.split())
