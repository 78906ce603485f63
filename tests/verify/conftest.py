"""`registry`: a real registry on 127.0.0.1 (Debian's docker-registry), for the engine tests of
`bakery verify` (the fake docker comes from tests/support)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.images import docker


@dataclass(frozen=True)
class Registry:
    host: str  # "localhost:PORT": the engine pushes to localhost without TLS settings

    def push(self, local: str, repository: str, tag: str) -> tuple[str, str]:
        """Push `local` as `host/repository:tag`; return (that tag, its registry digest)."""
        ref = f"{self.host}/{repository}:{tag}"
        docker("tag", local, ref)
        docker("push", ref, timeout=300)
        digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref).stdout
        digest = next(d.split("@", 1)[1] for d in json.loads(digests)
                      if d.startswith(f"{self.host}/{repository}@"))
        docker("image", "rm", ref)  # verify must pull it from the registry
        return ref, digest


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed (apt-get install docker-registry;"
                    " .ci/start-engine.sh does it)")
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (root / "registry.log").open("w")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"docker-registry did not start:\n{Path(log.name).read_text()}")
        time.sleep(0.2)
    yield Registry(f"localhost:{port}")
    process.terminate()
    process.wait(timeout=10)
    log.close()
