"""What the Docker engine says about its host: the architecture `bakery test` matches targets
against. The client is a parameter so tests can hand in a fake."""

from __future__ import annotations

from python_on_whales import ClientNotFoundError, DockerClient, DockerException

from bakery.docker.client import first_line, not_on_path
from bakery.errors import MissingToolError


def engine_architecture(client: DockerClient) -> str:
    """`docker info --format '{{.Architecture}}'` (uname style: x86_64, aarch64).

    MissingToolError (exit 2, one line) when there is no CLI or no engine answers."""
    try:
        architecture = client.system.info().architecture
    except ClientNotFoundError:
        raise not_on_path(client.client_config.client_call[0]) from None
    except DockerException as exc:
        raise MissingToolError(f"no Docker engine answers: {first_line(exc)}") from None
    if not architecture:
        raise MissingToolError("`docker info` reports no architecture for the engine")
    return str(architecture)


def image_present(client: DockerClient, image: str) -> bool:
    """Whether the engine holds `image` (`docker image inspect`); MissingToolError as for
    `engine_architecture` when no engine answers."""
    try:
        return bool(client.image.exists(image))
    except ClientNotFoundError:
        raise not_on_path(client.client_config.client_call[0]) from None
    except DockerException as exc:
        raise MissingToolError(f"no Docker engine answers: {first_line(exc)}") from None
