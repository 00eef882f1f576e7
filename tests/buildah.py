"""The product's image built and run with buildah, on a machine without a Docker engine.

Bases: every `FROM` of the Dockerfile is pulled from its registry first. When the pull fails
(CI machines that reach package registries only), a stand-in is made under the very same name
and `ensure_bases` says which names were replaced, by what. Stand-ins are made once per machine
and kept in buildah's storage, marked with the label `STAND_IN_LABEL`; a registry image
replaces its stand-in as soon as a pull works.

Running: `Container` runs the image the way compose.yaml runs the app services, with what
buildah offers here (chroot isolation: no network or PID namespace). See `Container`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STAND_IN_LABEL = "hiagent-template.stand-in"
DEBIAN_BASE = "localhost/hiagent-template/debian:bookworm"
DEBIAN_SUITE = "bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RUN_FLAGS = ("--isolation", "chroot", "--network", "host")
STATE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hiagent-template"


def buildah(*args: str, timeout: float = 300, check: bool = True) -> str:
    """Run `buildah ARGS`; its stdout (stripped). Fails with buildah's own words."""
    result = subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def qualified(name: str) -> str:
    """A short image name as the Docker CLI reads it: `node:20` -> `docker.io/library/node:20`."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"


def dockerfile_bases(dockerfile: Path) -> list[str]:
    """The external images a Dockerfile builds FROM (ARG defaults applied, stages skipped)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "ARG" and "=" in words[1]:
            key, value = words[1].split("=", 1)
            args.setdefault(key, value.strip("\"'"))
        elif len(words) >= 2 and words[0].upper() == "FROM":
            image = next(word for word in words[1:] if not word.startswith("--"))
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], image)
            if image not in stages and image != "scratch" and image not in bases:
                bases.append(image)
            if len(words) >= 4 and words[-2].upper() == "AS":
                stages.add(words[-1])
    return bases


# --- Bases and their stand-ins ---------------------------------------------------------------


@dataclass
class Base:
    """One base image and where it came from."""

    name: str  # as the Dockerfile writes it
    source: str  # "registry", "stand-in" or "local"
    detail: str

    def describe(self) -> str:
        return f"{self.name}: {self.source} ({self.detail})"


def _image_labels(reference: str) -> dict[str, str] | None:
    out = buildah("inspect", "--type", "image", reference, check=False)
    if not out:
        return None
    labels: dict[str, str] = json.loads(out)["OCIv1"]["config"].get("Labels") or {}
    return labels


def ensure_bases(names: list[str], scratch: Path) -> list[Base]:
    """Pull each base, else keep or make its stand-in; one line per base in the answer."""
    found = []
    for name in names:
        reference = qualified(name)
        pulled = subprocess.run(
            ["buildah", "pull", "--quiet", "--policy", "always", reference],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if pulled.returncode == 0:
            found.append(Base(name, "registry", f"pulled {reference}"))
            continue
        why = ": ".join((pulled.stderr.strip() or "no answer").splitlines()[-1].split(": ")[-2:])
        labels = _image_labels(reference)
        if labels is not None and STAND_IN_LABEL in labels:
            found.append(
                Base(name, "stand-in", f"{labels[STAND_IN_LABEL]}; kept from an earlier run")
            )
        elif labels is not None:
            found.append(
                Base(name, "local", f"an earlier pull of {reference}; the pull failed: {why}")
            )
        else:
            what = _make_stand_in(name, reference, scratch)
            found.append(Base(name, "stand-in", f"{what}; made now, the pull failed: {why}"))
    return found


def _make_stand_in(name: str, reference: str, scratch: Path) -> str:
    repository, _, tag = reference.rpartition(":")
    if repository == "ghcr.io/astral-sh/uv":
        return _stand_in_uv(reference, tag, scratch)
    if repository == "docker.io/library/python" and tag.endswith(f"-slim-{DEBIAN_SUITE}"):
        return _stand_in_python(reference, tag.split("-", 1)[0], scratch)
    if repository == "docker.io/library/node" and tag.endswith("-slim"):
        return _stand_in_node(reference, tag.split("-", 1)[0], scratch)
    raise RuntimeError(
        f"{name} cannot be pulled here and there is no stand-in recipe for it in tests/buildah.py"
    )


@contextmanager
def _working_container(image: str) -> Iterator[tuple[str, Path]]:
    """A buildah container of `image` and its mounted root; removed afterwards."""
    container = buildah("from", "--pull=never", image)
    try:
        yield container, Path(buildah("mount", container))
    finally:
        buildah("rm", container, check=False)


def _commit(container: str, reference: str, label: str, *config: str) -> None:
    buildah("config", "--label", f"{STAND_IN_LABEL}={label}", *config, container)
    buildah("commit", "--quiet", container, reference)


def _debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 sources first, then sources.list)."""
    sources = Path("/etc/apt")
    for path in sorted((sources / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if re.match(r"^\w[\w-]*:", line)
            )
            if DEBIAN_SUITE in fields.get("Suites", "").split():
                return fields["URIs"].split()[0]
    for line in (sources / "sources.list").read_text().splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == DEBIAN_SUITE:
            return next(word for word in words[1:] if not word.startswith("["))
    raise RuntimeError(f"no apt source for Debian {DEBIAN_SUITE}: debootstrap needs a mirror")


def _debian_base(scratch: Path) -> str:
    """Debian bookworm (minbase, python3, ca-certificates) from the machine's apt mirror."""
    labels = _image_labels(DEBIAN_BASE)
    if labels is not None:
        return labels[STAND_IN_LABEL]
    rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=scratch))
    try:
        subprocess.run(
            [
                *("nice", "-n", "10", "debootstrap", "--variant=minbase"),
                *("--include=python3,ca-certificates", DEBIAN_SUITE, str(rootfs)),
                _debian_mirror(),
            ],
            capture_output=True,
            check=True,
            timeout=900,
        )
        # What a slim image leaves out: package downloads and lists, docs, man pages, locales.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc"):
            for path in (rootfs / junk).glob("*"):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        for junk in ("usr/share/man", "usr/share/locale"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        # The machine's CA bundle: builds reach the package registries through its TLS proxy.
        shutil.copyfile(CA_BUNDLE, rootfs / CA_BUNDLE.relative_to("/"))
        container = buildah("from", "scratch")
        try:
            mounted = buildah("mount", container)
            subprocess.run(["cp", "-a", f"{rootfs}/.", mounted], check=True, timeout=300)
            label = (
                f"Debian {DEBIAN_SUITE} minbase by debootstrap from the machine's apt mirror, "
                "with the machine's CA bundle"
            )
            _commit(
                container,
                DEBIAN_BASE,
                label,
                "--env",
                "LANG=C.UTF-8",
                "--env",
                f"SSL_CERT_FILE={CA_BUNDLE}",
                "--cmd",
                "/bin/bash",
            )
        finally:
            buildah("rm", container, check=False)
        return label
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _stand_in_python(reference: str, version: str, scratch: Path) -> str:
    _debian_base(scratch)
    with _working_container(DEBIAN_BASE) as (container, root):
        debian_python = root / f"usr/bin/python{version}"
        if not debian_python.exists():
            raise RuntimeError(
                f"{reference} cannot be pulled and Debian {DEBIAN_SUITE} has no Python {version} "
                "for a stand-in: render with the python_version Debian ships, or allow the pull"
            )
        for alias in ("python", "python3", f"python{version}"):
            (root / "usr/local/bin" / alias).symlink_to(f"/usr/bin/python{version}")
        label = f"Debian {DEBIAN_SUITE} with its python{version} at /usr/local/bin"
        _commit(container, reference, label, "--cmd", "python3")
    return label


def _stand_in_node(reference: str, major: str, scratch: Path) -> str:
    node = Path(shutil.which("node") or "node").resolve()
    version = subprocess.run(
        [str(node), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if version.lstrip("v").split(".")[0] != major:
        raise RuntimeError(f"{reference} cannot be pulled and this machine's Node is {version}")
    npm = Path(shutil.which("npm") or "npm").resolve().parents[1]  # .../node_modules/npm
    _debian_base(scratch)
    with _working_container(DEBIAN_BASE) as (container, root):
        shutil.copy2(node, root / "usr/local/bin/node")
        shutil.copytree(npm, root / "usr/local/lib/node_modules/npm", symlinks=True)
        for tool in ("npm", "npx"):
            (root / "usr/local/bin" / tool).symlink_to(f"../lib/node_modules/npm/bin/{tool}-cli.js")
        label = f"Debian {DEBIAN_SUITE} with this machine's Node {version} and npm"
        _commit(container, reference, label, "--env", f"NODE_EXTRA_CA_CERTS={CA_BUNDLE}")
    return label


def _stand_in_uv(reference: str, version: str, scratch: Path) -> str:
    # The binary of PyPI's `uv` wheel of that version is the one the image ships as /uv.
    found = subprocess.run(
        [
            *(shutil.which("uv") or "uv", "run", "--no-project", "--isolated"),
            *("--with", f"uv=={version}", "python", "-c", "import uv; print(uv.find_uv_bin())"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=scratch,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )
    binary = Path(found.stdout.strip().splitlines()[-1])
    container = buildah("from", "scratch")
    try:
        buildah("copy", "--chmod", "0755", container, str(binary), "/uv")
        buildah("copy", "--chmod", "0755", container, str(binary.with_name("uvx")), "/uvx")
        label = f"uv {version}: /uv and /uvx from PyPI's uv wheel"
        _commit(container, reference, label)
    finally:
        buildah("rm", container, check=False)
    return label


# --- Building ---------------------------------------------------------------------------------


@dataclass
class Build:
    """One `buildah bud` and what it took."""

    tag: str
    returncode: int
    seconds: float
    log: str
    steps: int = 0
    cached: int = 0
    size: str = ""
    ran: list[str] = field(default_factory=list)  # the steps that did not come from the cache

    def describe(self) -> str:
        ran = "; ".join(self.ran[:8]) + (" ..." if len(self.ran) > 8 else "")
        return (
            f"{self.tag}: built in {self.seconds:.0f} s ({self.cached} of {self.steps} steps from "
            f"buildah's layer cache), image size {self.size}" + (f"; ran: {ran}" if ran else "")
        )


def build(context: Path, tag: str) -> Build:
    """`buildah bud` of the Dockerfile in `context` (layer cache kept, bases never pulled)."""
    started = time.monotonic()
    result = subprocess.run(
        [
            *("nice", "-n", "10", "buildah", "bud", "--isolation", "chroot", "--pull=never"),
            *("--layers", "--force-rm", "--format", "docker", "-t", tag, "."),
        ],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log = result.stdout + result.stderr
    done = Build(tag, result.returncode, time.monotonic() - started, log)
    steps = re.split(r"^(?:\[\d+/\d+\] )?STEP \d+/\d+: ", log, flags=re.M)[1:]
    steps = [step for step in steps if not step.startswith("FROM ")]
    done.steps = len(steps)
    done.cached = sum("--> Using cache" in step for step in steps)
    done.ran = [step.splitlines()[0][:40] for step in steps if "--> Using cache" not in step]
    if result.returncode == 0:
        done.size = json.loads(buildah("images", "--json", tag))[0]["size"]
        _drop_superseded_layers(tag, log)
    return done


def _drop_superseded_layers(tag: str, log: str) -> None:
    """Keep buildah's layer cache to this build's layers and the other tags' (bounded storage)."""
    layers = [m[:12] for m in re.findall(r"^--> (?:Using cache )?([0-9a-f]{11,64})$", log, re.M)]
    state = STATE_DIR / "buildah-layers.json"
    known: dict[str, list[str]] = json.loads(state.read_text()) if state.exists() else {}
    keep = set(layers).union(*(set(ids) for other, ids in known.items() if other != tag))
    images = json.loads(buildah("images", "--all", "--json") or "[]")
    named = {image["id"][:12] for image in images if image.get("names")}
    for layer in reversed(known.get(tag, [])):
        if layer not in keep and layer not in named:
            buildah("rmi", layer, check=False)  # still someone's parent: kept, and that is fine
    known[tag] = layers
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(known, indent=1))


def image_config(reference: str) -> dict[str, Any]:
    """The image's OCI config (User, Entrypoint, Cmd, Env, Labels ...)."""
    config: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", reference))["OCIv1"][
        "config"
    ]
    return config


# --- Running ----------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(stat.parent.name))
    return tree


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before children."""
    tree, found, queue = _children(), [], [pid]
    while queue:
        for child in tree.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def _argv0(pid: int) -> str:
    with suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    return ""


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie does not count)."""
    with suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    return False


def image_pids(pid: int) -> list[int]:
    """The processes of the command under `buildah run` (pid), without buildah's helpers."""
    return [child for child in descendants(pid) if not _argv0(child).startswith("buildah")]


def ids_of(pid: int) -> tuple[list[int], list[int]]:
    """Real, effective, saved and filesystem uids and gids of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    uid = next(line for line in status.splitlines() if line.startswith("Uid:"))
    gid = next(line for line in status.splitlines() if line.startswith("Gid:"))
    return [int(n) for n in uid.split()[1:]], [int(n) for n in gid.split()[1:]]


def stop(pid: int, grace: float, popen: subprocess.Popen[bytes] | None = None) -> None:
    """Stop `buildah run` (pid) as `docker stop` does: SIGTERM to the command, SIGKILL after
    `grace` seconds, by pid, to whatever is left of it."""
    below = descendants(pid)
    command = [child for child in below if not _argv0(child).startswith("buildah")]
    if command and grace > 0:
        with suppress(ProcessLookupError):
            os.kill(command[0], signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (popen.poll() is None if popen else alive(pid)):
        time.sleep(0.2)
    for left in [*reversed(below), pid]:
        with suppress(ProcessLookupError):
            os.kill(left, signal.SIGKILL)
    if popen is not None:
        popen.wait(timeout=10)


@dataclass
class Process:
    """A command running in a container: `buildah run` and, below it, the image's processes."""

    popen: subprocess.Popen[bytes]
    log: Path

    def image_pids(self) -> list[int]:
        """The processes of the command itself (not buildah's chroot helpers)."""
        return image_pids(self.popen.pid)

    def log_tail(self, lines: int = 40) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, grace: float = 30) -> None:
        stop(self.popen.pid, grace, self.popen)


@dataclass
class Container:
    """One container of an image, run the way compose.yaml runs the app services.

    - The image's user (USER), working directory and environment, plus `env`; every capability
      dropped (compose: `cap_drop: [ALL]`).
    - A read-only root filesystem (compose: `read_only: true`). buildah 1.28's chroot isolation
      ignores the OCI `root.readonly` and `buildah run` has no `--read-only`, so the container's
      overlay is remounted read-only before anything runs in it: every write below `/` then
      fails with EROFS, for root too. buildah itself creates and deletes its `/run/.containerenv`
      marker at each run (and panics when it cannot), so `/run` is a directory of the host,
      owned by root with mode 0755: the image's user cannot write there either.
    - `tmpfs` paths (compose: `tmpfs: [/tmp]`) and `volumes`, host directories by container path
      (compose: the `spill` volume at `/app/.data`).
    - No network namespace: commands share the host's, so each listens on a port of its own.

    `state()` and `from_state()` let another process (a `docker` shim) pick a container up again.
    """

    image: str
    id: str
    root: str
    tmpfs: list[str]
    volumes: dict[str, str]
    run_dir: str | None = None
    read_only_problem: str | None = None
    processes: list[Process] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        image: str,
        workdir: Path,
        *,
        tmpfs: list[str],
        volumes: dict[str, Path],
        read_only: bool = True,
    ) -> Container:
        """A new container of `image` (read-only unless told otherwise)."""
        name = f"{image.rsplit('/', 1)[-1].split(':')[0]}-{uuid.uuid4().hex[:8]}"
        buildah("from", "--pull=never", "--name", name, image)
        container_id = buildah(
            "inspect", "--type", "container", "--format", "{{.ContainerID}}", name
        )
        made = cls(
            image,
            container_id,
            buildah("mount", container_id),
            list(tmpfs),
            {target: str(source) for target, source in volumes.items()},
        )
        if read_only:
            made._make_read_only(workdir / f"{name}-run")
        return made

    def _make_read_only(self, run_dir: Path) -> None:
        run_dir.mkdir(mode=0o755)
        self.run_dir = str(run_dir)
        steps = [
            ["mount", "--bind", self.run_dir, f"{self.root}/run"],
            ["mount", "-o", "remount,ro", self.root],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                self.read_only_problem = f"`{' '.join(step)}` failed: {done.stderr.strip()}"
                return
        if not os.statvfs(self.root).f_flag & os.ST_RDONLY:
            self.read_only_problem = f"{self.root} is still writable after remount,ro"

    def state(self) -> dict[str, Any]:
        """What `from_state` needs (the processes are not part of it)."""
        return {k: v for k, v in self.__dict__.items() if k != "processes"}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Container:
        return cls(**state)

    @property
    def read_only(self) -> bool:
        return self.run_dir is not None and self.read_only_problem is None

    def argv(self, command: list[str], env: dict[str, str], user: str | None = None) -> list[str]:
        """The `buildah run` command line for `command` in this container."""
        args = ["buildah", "run", *RUN_FLAGS, "--cap-drop", "all"]
        if user is not None:
            args += ["--user", user]
        args += [f"--mount=type=tmpfs,destination={path}" for path in self.tmpfs]
        args += [f"--volume={source}:{target}" for target, source in self.volumes.items()]
        args += [f"--env={key}={value}" for key, value in env.items()]
        return [*args, self.id, "--", *command]

    def run(
        self,
        command: list[str],
        env: dict[str, str],
        *,
        user: str | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` to its end."""
        return subprocess.run(
            self.argv(command, env, user),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(
        self, command: list[str], env: dict[str, str], log: Path, *, detach: bool = False
    ) -> Process:
        """Start `command` in the background, its output into `log`; `detach`: in a session of
        its own, to outlive the caller (who must then stop it by pid)."""
        with log.open("ab") as out:
            popen = subprocess.Popen(
                self.argv(command, env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        process = Process(popen, log)
        if not detach:
            self.processes.append(process)
        return process

    def remove(self) -> None:
        """Remove the container (whatever it ran must be stopped first)."""
        if self.run_dir is not None:
            subprocess.run(["umount", f"{self.root}/run"], capture_output=True, check=False)
        buildah("rm", self.id, check=False)
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def close(self) -> None:
        """Stop what was started here (by pid), then remove the container."""
        for process in reversed(self.processes):
            process.stop()
        self.remove()
