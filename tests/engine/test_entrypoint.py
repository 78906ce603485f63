"""entrypoint.sh in a real container.

The image under test is Debian bookworm with Debian's dockerd and the project's entrypoint.sh
(see conftest.py); DinD runs use `dind_run_flags` instead of `--privileged`. One long-running
DinD container in service mode (no command) serves the read-only checks; every scenario that
changes state or needs other settings gets its own container.
"""

from __future__ import annotations

import subprocess
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.images import docker
from tests.support.engine import ENTRYPOINT, READY_TEXT, Containers, NestedImage, wait_for_log

pytestmark = pytest.mark.engine

ENTRYPOINT_IN_IMAGE = "/usr/local/bin/entrypoint.sh"
NESTED_TAR = "/images/busybox.tar"
START_BOUND = 90  # seconds a healthy dockerd may take to answer on a slow CI machine


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def why(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run(args: Sequence[str], *, input: str | None = None, timeout: float = 180) -> Run:
    started = time.monotonic()
    done = docker(*args, input=input, timeout=timeout, check=False)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def dind(
    image: str, flags: Sequence[str], *command: str, env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """argv for `docker run` of the test image with EE_DD=true (plus `env`)."""
    env_args = [f"--env={k}={v}" for k, v in {"EE_DD": "true", **(env or {})}.items()]
    return ["run", *flags, *env_args, *extra, image, *command]


def expected_driver(flags: Sequence[str]) -> str | None:
    """The driver the entrypoint should pick here, when the host makes it predictable."""
    host = docker("info", "--format", "{{.Driver}}").stdout.strip()
    if host not in ("overlay2", "fuse-overlayfs"):
        return None  # the container root is not overlayfs: overlay2 may work inside
    # overlay-on-overlay fails, so: fuse-overlayfs when /dev/fuse is passed in, else vfs
    return "fuse-overlayfs" if "/dev/fuse" in " ".join(flags) else "vfs"


def copy_out(container: str, path: str, dest: Path) -> str:
    """Text of `path` in the (possibly stopped) container."""
    tar_path = dest / "copy.tar"
    with tar_path.open("wb") as out:
        subprocess.run(
            ["docker", "cp", f"{container}:{path}", "-"], stdout=out, check=True, timeout=60,
        )
    with tarfile.open(tar_path) as tar:
        member = tar.next()
        assert member is not None
        extracted = tar.extractfile(member)
        assert extracted is not None
        return extracted.read().decode(errors="replace")


# ------------------------------------------------------------------------------- E1: EE_DD off

OFF = {
    "image-default": [],  # the image says EE_DD=false
    "empty": ["--env=EE_DD="],
    "false": ["--env=EE_DD=false"],
    "0": ["--env=EE_DD=0"],
    "no": ["--env=EE_DD=no"],
    "off": ["--env=EE_DD=off"],
    "FALSE": ["--env=EE_DD=FALSE"],
    "Off": ["--env=EE_DD=Off"],
}


@pytest.mark.parametrize("env_args", OFF.values(), ids=OFF.keys())
def test_ee_dd_off_execs_the_command_under_the_init(dind_image: str, env_args: list[str]) -> None:
    done = run(["run", "--rm", *env_args, dind_image, "ps", "-e", "-o", "pid=,comm="])
    assert done.returncode == 0, done.why()
    # PID 1 is the init; the command is its only child (exec'd by the entrypoint: no shell in
    # between, no dockerd), and the only output.
    processes = [line.split() for line in done.stdout.splitlines()]
    assert processes[0] == ["1", "docker-init"], done.why()
    assert [comm for _pid, comm in processes[1:]] == ["ps"], done.why()
    assert done.stderr == "", done.why()


def test_ee_dd_unset_execs_the_command_itself(dind_image: str) -> None:
    done = run([
        "run", "--rm", "--entrypoint", "env", dind_image,
        "-u", "EE_DD", ENTRYPOINT_IN_IMAGE, "ps", "-e", "-o", "pid=,comm=",
    ])
    assert done.returncode == 0, done.why()
    assert done.stdout.split() == ["1", "ps"], done.why()
    assert done.stderr == "", done.why()


def test_ee_dd_off_exit_status_and_arguments_pass_through(dind_image: str) -> None:
    done = run(["run", "--rm", dind_image, "sh", "-c", 'printf "%s|" "$@"; exit 5', "sh",
                "a b", "", "$HOME"])
    assert (done.returncode, done.stdout, done.stderr) == (5, "a b||$HOME|", ""), done.why()


def test_ee_dd_off_without_a_command_is_an_interactive_shell(dind_image: str) -> None:
    # The image has no CMD: `docker run -it IMAGE` gets a shell, as with CMD ["/bin/bash"].
    done = run(["run", "--rm", "-i", dind_image], input='echo "shell-$((6 * 7)) $0"\n')
    assert (done.returncode, done.stdout, done.stderr) == (0, "shell-42 bash\n", ""), done.why()


def test_the_init_stops_a_plain_command_on_docker_stop(
    dind_image: str, containers: Containers,
) -> None:
    # As PID 1, python3 would ignore SIGTERM (no handler, and the kernel spares PID 1 the
    # default action): `docker stop` would wait its grace and SIGKILL it (137). Under the init
    # the signal reaches it and it ends by SIGTERM (128 + 15).
    name = containers.name("pid1")
    started = run(["run", "-d", "--name", name, dind_image,
                   "python3", "-c", "import time; time.sleep(1e6)"])
    assert started.returncode == 0, started.why()
    assert run(["stop", name]).returncode == 0
    code = run(["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.strip()
    assert code == "143", run(["logs", name]).why()


def test_the_init_reaps_orphans(dind_image: str) -> None:
    # `sleep 1` is orphaned at once (its shell exits) and handed to PID 1, which must reap it.
    script = 'sh -c "sleep 1 &"; sleep 3; ps -e -o stat=,comm= | grep -c "^Z" || true'
    done = run(["run", "--rm", dind_image, "sh", "-c", script])
    assert (done.returncode, done.stdout) == (0, "0\n"), done.why()


# ------------------------------------------------------------------- E2: one DinD service container


@dataclass(frozen=True)
class Service:
    name: str
    logs: str


@pytest.fixture(scope="module")
def service(
    dind_image: str, dind_run_flags: list[str], nested_image: NestedImage,
    module_containers: Containers,
) -> Service:
    """A DinD container started as the image starts (no command): dockerd is its service."""
    name = module_containers.name("service")
    started = run(dind(
        dind_image, dind_run_flags,
        extra=["-d", "--name", name, "-v", f"{nested_image.tar}:{NESTED_TAR}:ro"],
    ))
    assert started.returncode == 0, started.why()
    return Service(name, wait_for_log(name, READY_TEXT, START_BOUND))


def inside(service: Service, *command: str) -> Run:
    return run(["exec", service.name, *command])


def test_dind_picks_a_storage_driver_that_works(service: Service, dind_run_flags: list[str]) -> None:
    driver = inside(service, "docker", "info", "--format", "{{.Driver}}")
    assert driver.returncode == 0, driver.why()
    picked = driver.stdout.strip()
    expected = expected_driver(dind_run_flags)
    if expected is not None:
        assert picked == expected
    assert picked in ("overlay2", "fuse-overlayfs", "vfs")
    assert f"storage driver {picked}" in service.logs


def test_dind_creates_tls_material(service: Service) -> None:
    listing = inside(service, "find", "/certs", "-type", "f", "-name", "*.pem")
    assert listing.returncode == 0, listing.why()
    assert set(listing.stdout.split()) >= {
        "/certs/ca/cert.pem", "/certs/ca/key.pem",
        "/certs/server/ca.pem", "/certs/server/cert.pem", "/certs/server/key.pem",
        "/certs/client/ca.pem", "/certs/client/cert.pem", "/certs/client/key.pem",
    }
    verify = inside(service, "openssl", "verify", "-CAfile", "/certs/ca/cert.pem",
                    "/certs/server/cert.pem", "/certs/client/cert.pem")
    assert verify.returncode == 0, verify.why()
    names = inside(service, "openssl", "x509", "-in", "/certs/server/cert.pem", "-noout",
                   "-ext", "subjectAltName")
    assert "IP Address:127.0.0.1" in names.stdout and "DNS:localhost" in names.stdout
    modes = inside(service, "stat", "-c", "%a %n", "/certs/ca/key.pem", "/certs/server/key.pem")
    assert [line.split()[0] for line in modes.stdout.splitlines()] == ["600", "600"]


def test_dind_listens_with_tls_on_2376_only(service: Service) -> None:
    certs = ["--tlscacert", "/certs/client/ca.pem", "--tlscert", "/certs/client/cert.pem",
             "--tlskey", "/certs/client/key.pem"]
    with_certs = inside(service, "docker", "--tlsverify", *certs, "-H", "tcp://127.0.0.1:2376",
                        "version", "--format", "{{.Server.Version}}")
    local = inside(service, "docker", "version", "--format", "{{.Server.Version}}")
    assert with_certs.returncode == 0, with_certs.why()
    assert with_certs.stdout == local.stdout != ""
    # --tlsverify on the server: a client without a certificate is turned away ...
    no_client_cert = inside(service, "docker", "--tlsverify", "--tlscacert", "/certs/client/ca.pem",
                            "-H", "tcp://127.0.0.1:2376", "version")
    assert no_client_cert.returncode != 0, no_client_cert.why()
    # ... and there is no plain-text port.
    plain = inside(service, "docker", "-H", "tcp://127.0.0.1:2375", "version")
    assert plain.returncode != 0, plain.why()


def test_dind_runs_a_nested_container(service: Service, nested_image: NestedImage) -> None:
    loaded = inside(service, "docker", "load", "-i", NESTED_TAR)
    assert loaded.returncode == 0, loaded.why()
    nested = inside(service, "docker", "run", "--rm", nested_image.ref,
                    "sh", "-c", "echo nested-$((6 * 7))")
    assert (nested.returncode, nested.stdout) == (0, "nested-42\n"), nested.why()


# ------------------------------------------------------------------ E2: settings and fallbacks


@pytest.mark.parametrize("variable", ["DOCKERD_STORAGE_DRIVER", "DOCKER_DRIVER"])
def test_storage_driver_from_the_environment_is_honoured(
    dind_image: str, dind_run_flags: list[str], variable: str,
) -> None:
    done = run(dind(dind_image, dind_run_flags, "docker", "info", "--format", "{{.Driver}}",
                    env={variable: "vfs"}, extra=["--rm"]))
    assert (done.returncode, done.stdout) == (0, "vfs\n"), done.why()
    assert "storage driver vfs" in done.stderr


def test_overlay2_when_the_data_root_is_a_volume(
    dind_image: str, dind_run_flags: list[str],
) -> None:
    host = docker("info", "--format", "{{.Driver}}").stdout.strip()
    if host != "overlay2":
        pytest.skip(f"the host engine uses {host!r}: its volumes may not carry overlayfs")
    # An anonymous volume lives on the host's filesystem, where overlayfs works (--rm drops it).
    done = run(dind(dind_image, dind_run_flags, "docker", "info", "--format", "{{.Driver}}",
                    extra=["--rm", "-v", "/var/lib/docker"]))
    assert (done.returncode, done.stdout) == (0, "overlay2\n"), done.why()


def test_iptables_legacy_when_nftables_does_not_work(
    dind_image: str, dind_run_flags: list[str], nested_image: NestedImage, tmp_path: Path,
) -> None:
    broken = tmp_path / "iptables"
    broken.write_text('#!/bin/sh\necho "iptables: nf_tables unavailable (stand-in)" >&2\nexit 1\n')
    broken.chmod(0o755)
    script = (
        f"docker load -q -i {NESTED_TAR} >/dev/null"
        f" && docker run --rm {nested_image.ref} echo nested-ok"
        " && iptables-legacy -t nat -S DOCKER >/dev/null && echo legacy-nat-chain"
    )
    done = run(dind(
        dind_image, dind_run_flags, "sh", "-c", script,
        extra=["--rm", "-v", f"{broken}:/usr/local/sbin/iptables:ro",
               "-v", f"{nested_image.tar}:{NESTED_TAR}:ro"],
    ))
    assert (done.returncode, done.stdout) == (0, "nested-ok\nlegacy-nat-chain\n"), done.why()
    assert "dockerd uses iptables-legacy" in done.stderr


def test_empty_tls_certdir_means_the_unix_socket_only(
    dind_image: str, dind_run_flags: list[str],
) -> None:
    """Without TLS, no TCP listener unless one is asked for: a plain port is root on the host
    for anyone who reaches it."""
    script = (
        "docker version --format '{{.Server.Version}}'"
        " && ! docker -H tcp://127.0.0.1:2375 version >/dev/null 2>&1"
        " && ! docker -H tcp://127.0.0.1:2376 version >/dev/null 2>&1"
        " && ! test -e /certs/server/cert.pem && echo no-tcp-no-tls-material"
    )
    done = run(dind(dind_image, dind_run_flags, "sh", "-c", script,
                    env={"DOCKER_TLS_CERTDIR": ""}, extra=["--rm"]))
    assert done.returncode == 0, done.why()
    version, rest = done.stdout.splitlines()
    assert version and rest == "no-tcp-no-tls-material", done.why()
    assert "listening on unix:///var/run/docker.sock only" in done.stderr, done.why()
    assert "2375" not in done.stderr.replace("DOCKERD_TCP=1", ""), done.why()


def test_empty_tls_certdir_and_dockerd_tcp_mean_plain_tcp_on_2375(
    dind_image: str, dind_run_flags: list[str],
) -> None:
    script = (
        "docker -H tcp://127.0.0.1:2375 version --format '{{.Server.Version}}'"
        " && ! docker -H tcp://127.0.0.1:2376 version >/dev/null 2>&1"
        " && ! test -e /certs/server/cert.pem && echo no-tls-material"
    )
    done = run(dind(dind_image, dind_run_flags, "sh", "-c", script,
                    env={"DOCKER_TLS_CERTDIR": "", "DOCKERD_TCP": "1"}, extra=["--rm"]))
    assert done.returncode == 0, done.why()
    version, rest = done.stdout.splitlines()
    assert version and rest == "no-tls-material", done.why()
    assert "tcp://0.0.0.0:2375 WITHOUT TLS OR AUTHENTICATION" in done.stderr
    assert done.seconds < 15, done.why()  # no deliberate start-up delay (--tls=false)


def test_dockerd_tcp_takes_only_a_boolean(dind_image: str, dind_run_flags: list[str]) -> None:
    done = run(dind(dind_image, dind_run_flags, "true",
                    env={"DOCKER_TLS_CERTDIR": "", "DOCKERD_TCP": "2375"}, extra=["--rm"]))
    assert done.returncode == 2, done.why()
    assert "DOCKERD_TCP must be 1/true/yes/on or 0/false/no/off, got '2375'" in done.stderr


def test_a_user_provided_ca_is_kept_and_signs_the_certificates(
    dind_image: str, dind_run_flags: list[str], tmp_path: Path,
) -> None:
    certs = tmp_path / "certs"
    (certs / "ca").mkdir(parents=True)
    made = run(["run", "--rm", "-v", f"{certs}:/certs", dind_image, "openssl", "req", "-x509",
                "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=user CA",
                "-keyout", "/certs/ca/key.pem", "-out", "/certs/ca/cert.pem"])
    assert made.returncode == 0, made.why()
    ca = (certs / "ca" / "cert.pem").read_bytes()
    script = (
        "openssl verify -CAfile /certs/ca/cert.pem /certs/server/cert.pem /certs/client/cert.pem"
        " && docker --tlsverify --tlscacert /certs/client/ca.pem --tlscert /certs/client/cert.pem"
        " --tlskey /certs/client/key.pem -H tcp://127.0.0.1:2376 info --format '{{.Driver}}'"
    )
    # The CA comes read-only (as from a secret): nothing may need writing next to it.
    done = run(dind(dind_image, dind_run_flags, "sh", "-c", script, extra=[
        "--rm", "-v", f"{certs}:/certs", "-v", f"{certs / 'ca'}:/certs/ca:ro",
    ]))
    assert done.returncode == 0, done.why()
    assert sorted(p.name for p in (certs / "ca").iterdir()) == ["cert.pem", "key.pem"]
    assert (certs / "ca" / "cert.pem").read_bytes() == ca
    assert (certs / "client" / "ca.pem").read_bytes() == ca


# An expired CA named as the entrypoint names its own, and expired server and client
# certificates it signed (`openssl ca` takes explicit validity dates), in /certs.
EXPIRED_MATERIAL = r"""
set -e
work=$(mktemp -d)
mkdir -p /certs/ca /certs/server /certs/client "$work/new"
: > "$work/index.txt"
echo 01 > "$work/serial"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = old
[ old ]
database = $work/index.txt
new_certs_dir = $work/new
serial = $work/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = keyCertSign,cRLSign
[ leaf ]
basicConstraints = CA:false
CNF
dates="-startdate 20200101000000Z -enddate 20200201000000Z"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out /certs/ca/key.pem
openssl req -new -key /certs/ca/key.pem -subj "/CN=edge-node dockerd CA" -out "$work/ca.csr"
openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile /certs/ca/key.pem $dates \
  -extensions v3_ca -notext -in "$work/ca.csr" -out /certs/ca/cert.pem 2>/dev/null
for who in server client; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out /certs/$who/key.pem
  openssl req -new -key /certs/$who/key.pem -subj "/CN=old-$who" -out "$work/$who.csr"
  openssl ca -batch -config "$work/ca.cnf" -cert /certs/ca/cert.pem \
    -keyfile /certs/ca/key.pem $dates -extensions leaf -notext -in "$work/$who.csr" \
    -out /certs/$who/cert.pem 2>/dev/null
  cp /certs/ca/cert.pem /certs/$who/ca.pem
done
rm -rf "$work"
! openssl x509 -noout -checkend 0 -in /certs/ca/cert.pem >/dev/null
! openssl x509 -noout -checkend 0 -in /certs/server/cert.pem >/dev/null
echo expired-material
"""


def test_expired_certificates_and_an_expired_generated_ca_are_renewed(
    dind_image: str, dind_run_flags: list[str], tmp_path: Path,
) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    made = run(["run", "--rm", "-v", f"{certs}:/certs", dind_image, "sh", "-c", EXPIRED_MATERIAL])
    assert (made.returncode, made.stdout) == (0, "expired-material\n"), made.why()
    old_ca = (certs / "ca" / "cert.pem").read_bytes()
    # Valid for 30 more days (the renewal margin), signed by the CA in /certs/ca, and the
    # client certificate is accepted by the engine over TLS.
    script = (
        "for f in ca server client; do openssl x509 -noout -checkend 2592000"
        " -in /certs/$f/cert.pem || exit 1; done"
        " && openssl verify -CAfile /certs/ca/cert.pem /certs/server/cert.pem"
        " /certs/client/cert.pem"
        " && docker --tlsverify --tlscacert /certs/client/ca.pem --tlscert /certs/client/cert.pem"
        " --tlskey /certs/client/key.pem -H tcp://127.0.0.1:2376 info --format '{{.Driver}}'"
    )
    done = run(dind(dind_image, dind_run_flags, "sh", "-c", script,
                    extra=["--rm", "-v", f"{certs}:/certs"]))
    assert done.returncode == 0, done.why()
    assert "(made here) expires within 30 days or has expired: making a new one" in done.stderr
    assert (certs / "ca" / "cert.pem").read_bytes() != old_ca
    assert (certs / "client" / "ca.pem").read_bytes() == (certs / "ca" / "cert.pem").read_bytes()


def test_restart_after_a_kill_reuses_the_ca_and_ignores_stale_pid_files(
    dind_image: str, dind_run_flags: list[str], containers: Containers, tmp_path: Path,
) -> None:
    name = containers.name("restart")
    started = run(dind(dind_image, dind_run_flags, "sleep", "300",
                       extra=["-d", "--name", name]))
    assert started.returncode == 0, started.why()
    wait_for_log(name, READY_TEXT, START_BOUND)
    ca_before = copy_out(name, "/certs/ca/cert.pem", tmp_path)

    assert run(["kill", name]).returncode == 0  # SIGKILL: nobody cleans up
    assert copy_out(name, "/run/docker.pid", tmp_path).strip().isdigit()  # left behind

    assert run(["start", name]).returncode == 0
    deadline = time.monotonic() + START_BOUND
    while run(["logs", name]).stderr.count(READY_TEXT) < 2:
        assert time.monotonic() < deadline, run(["logs", name]).why()
        state = run(["inspect", "--format", "{{.State.Running}}", name]).stdout.strip()
        assert state == "true", run(["logs", name]).why()
        time.sleep(0.25)
    assert copy_out(name, "/certs/ca/cert.pem", tmp_path) == ca_before
    verify = run(["exec", name, "openssl", "verify", "-CAfile", "/certs/ca/cert.pem",
                  "/certs/server/cert.pem"])
    assert verify.returncode == 0, verify.why()


# ---------------------------------------------------------------------- E3: bounded start


def test_without_privileges_it_fails_fast_with_the_reason(dind_image: str) -> None:
    bound = 10
    done = run(["run", "--rm", "--env=EE_DD=true", f"--env=DOCKERD_START_TIMEOUT={bound}",
                dind_image, "echo", "never"], timeout=bound + 60)
    assert done.returncode == 1, done.why()
    assert done.seconds < bound + 10, done.why()
    assert done.stdout == "", done.why()  # the command never ran
    assert "entrypoint.sh: dockerd exited" in done.stderr, done.why()
    assert "privileges" in done.stderr
    # the tail of dockerd's own log says what went wrong
    assert "failed to start daemon" in done.stderr, done.why()


def test_a_dockerd_that_never_answers_times_out(
    dind_image: str, dind_run_flags: list[str], tmp_path: Path,
) -> None:
    bound = 4
    silent = tmp_path / "docker"  # a CLI that never reaches the engine
    silent.write_text('#!/bin/sh\necho "Cannot connect to the Docker daemon (stand-in)" >&2\nexit 1\n')
    silent.chmod(0o755)
    done = run(dind(dind_image, dind_run_flags, "echo", "never",
                    env={"DOCKERD_START_TIMEOUT": str(bound)},
                    extra=["--rm", "-v", f"{silent}:/usr/local/bin/docker:ro"]),
               timeout=bound + 60)
    assert done.returncode == 1, done.why()
    assert bound <= done.seconds < bound + 15, done.why()
    assert done.stdout == "", done.why()
    assert f"did not answer within DOCKERD_START_TIMEOUT={bound}s" in done.stderr, done.why()
    assert "(stand-in)" in done.stderr  # what `docker info` said
    assert "API listen on" in done.stderr  # the tail of dockerd's log


def test_start_timeout_must_be_a_number(dind_image: str) -> None:
    done = run(["run", "--rm", "--env=EE_DD=1", "--env=DOCKERD_START_TIMEOUT=soon",
                dind_image, "true"])
    assert done.returncode == 2, done.why()
    assert "DOCKERD_START_TIMEOUT must be a positive number of seconds, got 'soon'" in done.stderr


# --------------------------------------------------------------- E4: run, supervise, stop


def test_exit_status_and_stdout_of_the_command(
    dind_image: str, dind_run_flags: list[str], containers: Containers,
) -> None:
    name = containers.name("status")
    done = run(dind(dind_image, dind_run_flags, "sh", "-c", "echo out; echo err >&2; exit 3",
                    extra=["--name", name]))
    assert done.returncode == 3, done.why()
    assert done.stdout == "out\n", done.why()  # the entrypoint's own words go to stderr
    assert READY_TEXT in done.stderr and "err" in done.stderr
    # dockerd was stopped gracefully once the command had ended; its output is on stderr
    assert "Daemon shutdown complete" in done.stderr, done.why()


def test_stdin_reaches_the_command(dind_image: str, dind_run_flags: list[str]) -> None:
    done = run(dind(dind_image, dind_run_flags, "sh", "-c", 'read -r line; echo "got:$line"',
                    extra=["--rm", "-i"]), input="hello\n")
    assert (done.returncode, done.stdout) == (0, "got:hello\n"), done.why()


def test_docker_stop_reaches_the_command_and_the_inner_containers(
    dind_image: str, dind_run_flags: list[str], nested_image: NestedImage,
    containers: Containers, tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    inner = (
        'trap "echo got-TERM > /shared/marker; exit 0" TERM; '
        "echo up > /shared/inner-up; while :; do sleep 1; done"
    )
    outer = (
        f"docker load -q -i {NESTED_TAR} >/dev/null && "
        f"docker run -d -v /shared:/shared {nested_image.ref} sh -c '{inner}' >/dev/null || exit 99; "
        'trap "echo outer-got-TERM; exit 7" TERM; '
        "while :; do sleep 1; done"
    )
    name = containers.name("stop")
    started = run(dind(dind_image, dind_run_flags, "sh", "-c", outer, extra=[
        "-d", "--name", name, "-v", f"{shared}:/shared",
        "-v", f"{nested_image.tar}:{NESTED_TAR}:ro",
    ]))
    assert started.returncode == 0, started.why()
    deadline = time.monotonic() + START_BOUND
    while not (shared / "inner-up").exists():
        assert time.monotonic() < deadline, run(["logs", name]).why()
        assert run(["inspect", "--format", "{{.State.Running}}", name]).stdout.strip() == "true", \
            run(["logs", name]).why()
        time.sleep(0.25)

    stopped = run(["stop", "--time", "60", name])
    assert stopped.returncode == 0, stopped.why()
    assert stopped.seconds < 30, stopped.why()  # nobody waited for the SIGKILL
    code = run(["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.strip()
    logs = run(["logs", name])
    assert code == "7", logs.why()  # the command's status
    assert logs.stdout == "outer-got-TERM\n", logs.why()
    assert (shared / "marker").read_text() == "got-TERM\n"  # the inner container got SIGTERM
    assert "Processing signal 'terminated'" in logs.stderr
    assert "Daemon shutdown complete" in logs.stderr


def test_sigint_is_forwarded_to_the_command(
    dind_image: str, dind_run_flags: list[str], containers: Containers,
) -> None:
    name = containers.name("sigint")
    # `exec sleep`: sleep has no handler of its own, so it only ends if SIGINT reaches it with
    # the default action (background jobs of sh start with SIGINT ignored).
    started = run(dind(dind_image, dind_run_flags, "sh", "-c", "echo started; exec sleep 300",
                       extra=["-d", "--name", name]))
    assert started.returncode == 0, started.why()
    wait_for_log(name, "started", START_BOUND)
    assert run(["kill", "--signal", "INT", name]).returncode == 0
    waited = run(["wait", name], timeout=60)
    assert waited.stdout.strip() == "130", run(["logs", name]).why()  # 128 + SIGINT
    assert waited.seconds < 30


def wait_until(condition: Callable[[], bool], name: str, what: str) -> None:
    """Poll `condition` until it holds; fail with the logs when the container stops first."""
    deadline = time.monotonic() + START_BOUND
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n" + run(["logs", name]).why()
        state = run(["inspect", "--format", "{{.State.Running}}", name]).stdout.strip()
        assert state == "true", f"{what}\n" + run(["logs", name]).why()
        time.sleep(0.25)


def test_detached_default_start_stays_up_and_stops_within_the_default_grace(
    dind_image: str, dind_run_flags: list[str], nested_image: NestedImage,
    containers: Containers, tmp_path: Path,
) -> None:
    """`docker run -d -e EE_DD=true IMAGE` (no command): the way the DinD images are run."""
    shared = tmp_path / "shared"
    shared.mkdir()
    name = containers.name("detached")
    launched = time.monotonic()
    started = run(dind(dind_image, dind_run_flags, extra=[
        "-d", "--name", name, "-v", f"{shared}:/shared",
        "-v", f"{nested_image.tar}:{NESTED_TAR}:ro",
    ]))
    assert started.returncode == 0, started.why()
    wait_for_log(name, READY_TEXT, START_BOUND)
    # Still up 20 s later: nothing reads a closed stdin and ends it.
    time.sleep(max(0.0, 20 - (time.monotonic() - launched)))
    state = run(["inspect", "--format", "{{.State.Running}}", name]).stdout.strip()
    assert state == "true", run(["logs", name]).why()

    assert run(["exec", name, "docker", "load", "-q", "-i", NESTED_TAR]).returncode == 0
    nested = run(["exec", name, "docker", "run", "--rm", nested_image.ref, "echo", "nested-ok"])
    assert (nested.returncode, nested.stdout) == (0, "nested-ok\n"), nested.why()
    # Two inner containers: one ends on SIGTERM, one ignores it (it must not stretch the stop
    # beyond the grace: the entrypoint kills it in time).
    polite = (
        'trap "echo got-TERM > /shared/marker; exit 0" TERM; '
        "echo up > /shared/polite-up; while :; do sleep 1; done"
    )
    stubborn = 'trap "" TERM; echo up > /shared/stubborn-up; while :; do sleep 1; done'
    for script in (polite, stubborn):
        inner = run(["exec", name, "docker", "run", "-d", "-v", "/shared:/shared",
                     nested_image.ref, "sh", "-c", script])
        assert inner.returncode == 0, inner.why()
    wait_until(lambda: (shared / "polite-up").exists() and (shared / "stubborn-up").exists(),
               name, "the inner containers did not start")

    stopped = run(["stop", name])  # Docker's default grace: 10 s, then SIGKILL
    assert stopped.returncode == 0, stopped.why()
    code = run(["inspect", "--format", "{{.State.ExitCode}}", name]).stdout.strip()
    logs = run(["logs", name])
    assert code == "0", logs.why()  # a clean stop, not the SIGKILL of an expired grace (137)
    assert (shared / "marker").read_text() == "got-TERM\n"  # the inner container's stop signal
    # dockerd's own output reaches `docker logs`, and no log file grows in the container
    assert "Daemon shutdown complete" in logs.stderr, logs.why()
    assert "got SIGTERM: stopping the inner containers, then dockerd" in logs.stderr
    assert run(["exec", name, "true"]).returncode != 0  # really stopped
    listing = docker("diff", name).stdout
    assert "/var/log/dockerd.log" not in listing


# ------------------------------------------------------------------------------ E5


def test_the_image_carries_the_entrypoint_bytes_unchanged(dind_image: str) -> None:
    copied = docker("run", "--rm", "--entrypoint", "cat", dind_image, ENTRYPOINT_IN_IMAGE)
    assert copied.stdout.encode() == ENTRYPOINT.read_bytes()
    assert ENTRYPOINT.read_bytes().startswith(b"#!/bin/sh\n")
