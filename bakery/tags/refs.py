"""Image references (`[registry[:port]/]path[:tag][@digest]`) as one small immutable value.

Parsed with the grammar of the distribution reference library that Docker itself uses, and
normalized the way Docker normalizes (`ubuntu` is `docker.io/library/ubuntu`, `index.docker.io`
is `docker.io`), so two spellings of one name always compare equal, as they do for the
registry. Written here rather than taken from a package: the point is an error message that
says exactly which part is wrong, where the reference library only says "invalid reference
format".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from bakery.errors import ConfigError

TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_NAME_LENGTH = 255
DOCKER_HUB = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")


def normalize_version(version: str) -> str:
    """Spell a version the way tags do: `+` is illegal in tags and becomes `.`."""
    return version.replace("+", ".")


# Cached: a plan checks the same few tags (one per python and variant, the release tags) for
# each of its images.
@functools.lru_cache(maxsize=1024)
def tag_problem(tag: str) -> str | None:
    """Why `tag` is not a valid Docker tag, or None when it is."""
    if not tag:
        return "a tag cannot be empty"
    if len(tag) > 128:
        return f"a tag is at most 128 characters, this one has {len(tag)}"
    if not TAG_PATTERN.fullmatch(tag):
        return "a tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
    return None


def _digest_problem(digest: str) -> str | None:
    if digest.startswith("sha256:") and not _SHA256.fullmatch(digest):
        return f"{digest!r} is not a sha256 digest (sha256: and 64 lowercase hex digits)"
    if not _DIGEST.fullmatch(digest):
        return f"{digest!r} is not a digest (algorithm:hex, e.g. sha256: and 64 hex digits)"
    return None


def _host_problem(domain: str) -> str | None:
    host, port = domain, None
    if (not domain.endswith("]") and ":" in domain) or "]:" in domain:
        host, _, port = domain.rpartition(":")
    if port is not None and not port.isdigit():
        return f"registry {domain!r}: the port {port!r} must be a number"
    if not _HOST.fullmatch(host):
        return (f"{domain!r} is not a valid registry host (letters, digits and '-' in"
                " dot-separated labels, optional :port)")
    return None


def split_domain(name: str) -> tuple[str, str]:
    """Docker's rule: the first component is a registry when it has a `.` or `:`, is
    `localhost`, or has an upper-case letter; otherwise the name is on Docker Hub."""
    head, sep, rest = name.partition("/")
    if not sep or ("." not in head and ":" not in head and head != "localhost"
                   and head.lower() == head):
        return DOCKER_HUB, name
    return head, rest


def _path_problem(path: str) -> str | None:
    if not path:
        return "the repository path is empty"
    for part in path.split("/"):
        if not part:
            return "empty path component (a '/' at either end or two in a row)"
        if not _COMPONENT.fullmatch(part):
            if part.lower() != part and _COMPONENT.fullmatch(part.lower()):
                return f"path component {part!r} must be lowercase"
            return (f"path component {part!r} must be lowercase letters and digits, joined by"
                    " '.', '_', '__' or dashes")
    return None


@dataclass(frozen=True, order=True)
class ImageRef:
    """A normalized image reference: registry (`docker.io`, `ghcr.io`, `localhost:5000`),
    repository path (`library/ubuntu`, `ratio1/base`), and an optional tag and digest.

    Equal values name the same thing in the registry, however they were spelled.
    `str()` gives Docker's familiar spelling (`ubuntu:24.04`, `ratio1/x:t`,
    `ghcr.io/ratio1/x:t`); `canonical` the fully qualified one.
    """

    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str, *, where: str = "", default_tag: str | None = None) -> ImageRef:
        """Parse and normalize `text`; ConfigError (prefixed with `where`) when invalid."""
        try:
            ref = parse_reference(text)
        except ValueError as exc:
            prefix = f"{where}: " if where else ""
            raise ConfigError(f"{prefix}{exc}") from None
        if ref.tag is None and ref.digest is None and default_tag is not None:
            ref = replace(ref, tag=default_tag)
        return ref

    @property
    def repository(self) -> str:
        """The repository in Docker's familiar spelling (`ubuntu`, `ratio1/x`, `ghcr.io/a/b`)."""
        if self.registry == DOCKER_HUB:
            path = self.path
            if path.startswith("library/") and path.count("/") == 1:
                return path.removeprefix("library/")
            return path
        return f"{self.registry}/{self.path}"

    @property
    def canonical_repository(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def canonical(self) -> str:
        return self.canonical_repository + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.repository + self._suffix()

    def with_tag(self, tag: str) -> ImageRef:
        return _checked(replace(self, tag=tag, digest=None))

    def with_digest(self, digest: str) -> ImageRef:
        """`repository@digest` (the tag dropped: a digest names the content alone)."""
        return _checked(replace(self, tag=None, digest=digest))

    def same_repository(self, other: ImageRef) -> bool:
        return (self.registry, self.path) == (other.registry, other.path)


def _checked(ref: ImageRef) -> ImageRef:
    return parse_reference(ref.canonical)


def parse_reference(text: str) -> ImageRef:
    """Parse one reference; ValueError with a message naming the part that is wrong."""
    if not text:
        raise ValueError("an image name cannot be empty")
    if text != text.strip():
        raise ValueError(f"{text!r} is not a valid image name: leading or trailing whitespace")
    name, at, digest = text.partition("@")
    if at and (problem := _digest_problem(digest)):
        raise ValueError(f"{text!r} is not a valid image name: {problem}")
    tag: str | None = None
    last = name.rfind("/")
    colon = name.rfind(":")
    if colon > last:
        name, tag = name[:colon], name[colon + 1 :]
        if problem := tag_problem(tag):
            raise ValueError(f"{text!r} is not a valid image name: tag {tag!r}: {problem}")
    try:
        domain, path = _parse_name(name)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid image name: {exc}") from None
    return ImageRef(domain, path, tag, digest or None)


# Cached by name, not by reference: a plan names each repository with many tags, and checking
# the name is most of the work of a parse; a cache of whole references would miss on every new
# tag. Large enough for every name of a large plan (its checks parse them again after the
# expansion); an entry is a few untracked strings, nothing the GC walks.
@functools.lru_cache(maxsize=1 << 16)
def _parse_name(name: str) -> tuple[str, str]:
    """The normalized (registry, path) of a name without tag or digest; ValueError naming
    the problem."""
    domain, path = split_domain(name)
    problem = _host_problem(domain)
    if (problem is None and domain != DOCKER_HUB and "." not in domain and ":" not in domain
            and domain != "localhost"):
        # only its capitals make Docker read it as a registry host: surely a typo
        problem = (f"path component {domain!r} must be lowercase (Docker would take it for a"
                   " registry host)")
    problem = problem or _path_problem(path)
    if problem:
        raise ValueError(problem)
    if domain in _HUB_ALIASES:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    full = f"{domain}/{path}"
    if len(full) > MAX_NAME_LENGTH:
        raise ValueError(f"the name ({full}) is {len(full)} characters, at most"
                         f" {MAX_NAME_LENGTH} are allowed")
    return domain, path


def canonical_repository(name: str) -> str:
    """`registry/path` of a valid name without tag or digest (`ratio1/x` ->
    `docker.io/ratio1/x`): `ImageRef.parse(name).canonical_repository`, from the cache of
    names (ValueError naming the problem when invalid)."""
    registry, path = _parse_name(name)
    return f"{registry}/{path}"


def name_part(text: str) -> str:
    """The name of a reference as written, without its tag and digest (`ratio1/x` of
    `ratio1/x:t@sha256:...`): the split `parse_reference` makes, unchecked."""
    name = text.partition("@")[0]
    colon = name.rfind(":")
    return name[:colon] if colon > name.rfind("/") else name


def namespace_problem(namespace: str) -> str | None:
    """Why `namespace` (where repositories `<namespace>/<image>` live: `ratio1`,
    `ghcr.io/ratio1`, `localhost:5000/acme/edge`) is not valid, or None."""
    if "@" in namespace or (":" in namespace.rpartition("/")[2] and "/" in namespace):
        return "a namespace names no tag or digest"
    try:
        parse_reference(f"{namespace}/x")
    except ValueError as exc:
        return str(exc).replace(f"'{namespace}/x' is not a valid image name: ", "")
    return None


def repository_problem(repository: str) -> str | None:
    """Why `repository` (no tag, no digest) is not a valid repository name, or None."""
    try:
        ref = parse_reference(repository)
    except ValueError as exc:
        return str(exc).replace(f"{repository!r} is not a valid image name: ", "")
    if ref.tag or ref.digest:
        return "a repository names no tag or digest"
    return None
