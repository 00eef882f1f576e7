"""`docker` for deploy/onprem/deploy.sh on a machine with buildah and no Docker engine.

deploy.sh runs unchanged; this shim does what it asks of Docker and Compose with buildah and the
product's real image (tests/buildah.py builds and runs it):

| deploy.sh runs                                   | the shim                                     |
|--------------------------------------------------|----------------------------------------------|
| `docker compose version`                         | answers                                      |
| `docker compose config --services`               | lists compose.yaml's services (COMPOSE_FILE) |
| `docker compose build api`                       | `buildah bud` of the Dockerfile as the api   |
|                                                  | service's `image:` (APP_IMAGE:APP_TAG)       |
| `docker compose up -d --wait postgres redis`     | checks the machine's PostgreSQL and Redis    |
|                                                  | answer: compose's containers are not run     |
| `docker compose run --rm --no-deps migrate`      | migrate's command in a new container         |
| `docker compose up -d ... --scale S=N S`         | starts containers of S's image until N run,  |
|                                                  | with S's command, env_file, environment,     |
|                                                  | read_only, tmpfs and volumes                 |
| `docker compose up -d --no-deps proxy`           | nothing: nginx is not run (it says so)       |
| `docker compose ps -q S`                         | the running containers of S                  |
| `docker ps -q --filter id=ID --filter status=…`  | ID while its `buildah run` lives             |
| `docker ps -q --filter id=ID --filter health=…`  | ID if S's healthcheck passes now, run in the |
|                                                  | container                                    |
| `docker logs --tail N ID`, `docker stop --time`, | its output; SIGTERM then SIGKILL by pid;     |
| `docker rm [-f] ID...`                           | (kill and) remove the containers             |

What it replaces: the network (no namespace: each container gets a port of its own, written
over `--port 8000` in the command and in the healthcheck URL, or set as the healthcheck's
`*_PORT` variable), compose's postgres and redis (the machine's, through DOCKER_SHIM_ENV), the
proxy, and the health interval (checked when deploy.sh asks). Anything else deploy.sh might ask
fails loudly, naming it.

Environment: DOCKER_SHIM_STATE (JSON file of the containers), DOCKER_SHIM_WORKDIR (logs,
volumes, /run directories), DOCKER_SHIM_ENV (JSON object: variables set, or with null
removed, in every application container).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any, NoReturn

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.buildah import Container, alive, build, image_config, stop

INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"docker (buildah shim): {message}", file=sys.stderr)
    sys.exit(code)


def dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("\"'")
    return values


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$`."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        found = variables.get(name)
        if match.group(2) in (":-", "-"):
            unset = not found if match.group(2) == ":-" else found is None
            return match.group(3) if unset else str(found)
        if match.group(2) in (":?", "?") and not found:
            fail(f"{name}: {match.group(3)}")
        return found or ""

    return INTERPOLATION.sub(one, value)


def merge(base: Any, extra: Any) -> Any:
    """`docker compose -f a -f b`: mappings merged, later files win."""
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, item in extra.items():
            merged[key] = merge(base[key], item) if key in base else item
        return merged
    return extra


class Project:
    """The compose project in the working directory, as deploy.sh sees it."""

    def __init__(self) -> None:
        self.root = Path.cwd()
        self.variables = {**dotenv(self.root / ".env"), **os.environ}
        files = self.variables.get("COMPOSE_FILE", "compose.yaml").split(":")
        raw: dict[str, Any] = {}
        for name in files:
            raw = merge(raw, yaml.safe_load((self.root / name).read_text()))
        self.raw_services: dict[str, Any] = raw["services"]
        self.workdir = Path(os.environ["DOCKER_SHIM_WORKDIR"])
        self.state_path = Path(os.environ["DOCKER_SHIM_STATE"])
        self.overrides: dict[str, str | None] = json.loads(os.environ.get("DOCKER_SHIM_ENV", "{}"))
        saved = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.containers: list[dict[str, Any]] = saved.get("containers", [])

    def service(self, name: str) -> dict[str, Any]:
        if name not in self.raw_services:
            fail(f"no service {name!r} in the compose files")
        return dict(interpolate(self.raw_services[name], self.variables))

    def image(self, name: str) -> str:
        """The service's image; a name without a registry is a local one (never pulled)."""
        image = str(self.service(name)["image"])
        first = image.split("/", 1)[0]
        local = "/" not in image or not ("." in first or ":" in first or first == "localhost")
        return f"localhost/{image}" if local else image

    def save(self) -> None:
        self.state_path.write_text(json.dumps({"containers": self.containers}, indent=1))

    def find(self, container_id: str) -> dict[str, Any]:
        for record in self.containers:
            if record["id"] == container_id:
                return record
        fail(f"no such container: {container_id}")

    def running(self, service: str) -> list[dict[str, Any]]:
        return [c for c in self.containers if c["service"] == service and alive(c["pid"])]

    def app_env(self, service: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        env_files = service.get("env_file", [])
        for name in [env_files] if isinstance(env_files, str) else env_files:
            env.update(dotenv(self.root / name))
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        env.update({key: str(value) for key, value in environment.items()})
        for key, value in self.overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def volumes(self, service: dict[str, Any], image: str) -> dict[str, Path]:
        """Named volumes as host directories, owned like the image's folder (as Docker does)."""
        found = {}
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if "/" in source:
                fail(f"bind mounts are not supported by the shim: {volume}")
            folder = self.workdir / "volumes" / source
            if not folder.exists():
                folder.mkdir(parents=True)
                user = image_config(image).get("User", "0:0")
                uid, _, gid = user.partition(":")
                os.chown(folder, int(uid), int(gid or uid))
            found[target] = folder
        return found

    def container(self, name: str) -> tuple[Container, dict[str, Any]]:
        """A new container of service `name`'s image, as compose would create it."""
        service = self.service(name)
        image = self.image(name)
        made = Container.create(
            image,
            self.workdir,
            tmpfs=list(service.get("tmpfs", [])),
            volumes=self.volumes(service, image),
            read_only=bool(service.get("read_only")),
        )
        return made, service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def own_port(command: list[str], port: int) -> tuple[list[str], str | None]:
    """The command listening on `port` of 127.0.0.1, and the port it named before."""
    command, before = list(command), None
    for flag, value in (("--port", str(port)), ("--host", "127.0.0.1")):
        if flag in command:
            at = command.index(flag) + 1
            before = command[at] if flag == "--port" else before
            command[at] = value
    return command, before


def start(project: Project, name: str) -> None:
    made, service = project.container(name)
    port = free_port()
    command, compose_port = own_port([str(part) for part in service["command"]], port)
    env = project.app_env(service)
    health = project.raw_services[name].get("healthcheck", {}).get("test", [])
    port_variables = {v for v in re.findall(r"\$\{(\w*PORT)\b", json.dumps(health))}
    env.update(dict.fromkeys(port_variables, str(port)))
    log = project.workdir / f"{made.id[:12]}.log"
    process = made.start(command, env, log, detach=True)
    project.containers.append(
        {
            "id": made.id,
            "service": name,
            "tag": project.variables.get("APP_TAG", "latest"),
            "image": made.image,
            "pid": process.popen.pid,
            "port": port,
            "compose_port": compose_port,
            "env": env,
            "log": str(log),
            "container": made.state(),
        }
    )
    project.save()
    print(f"• {name}: container {made.id[:12]} of {made.image}, on 127.0.0.1:{port}")


def healthy(project: Project, record: dict[str, Any]) -> bool:
    """The service's compose healthcheck, run now in the container (on its own port)."""
    raw = project.raw_services[record["service"]].get("healthcheck", {})
    variables = {**project.variables, **record["env"]}
    test = [str(part) for part in interpolate(raw.get("test", []), variables)]
    if not test or raw.get("disable"):
        return alive(record["pid"])
    if record["compose_port"]:
        test = [part.replace(f":{record['compose_port']}/", f":{record['port']}/") for part in test]
    command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
    container = Container.from_state(record["container"])
    return container.run(command, record["env"], timeout=30).returncode == 0


def infra(project: Project, names: list[str]) -> None:
    """Compose's database and Redis are the machine's: check that they answer."""
    env = project.app_env({})
    for name in names:
        image = str(project.service(name).get("image", ""))
        if image.startswith("postgres"):
            url = urllib.parse.urlsplit(env.get("DATABASE_URL", ""))
            where, what = (url.hostname or "", url.port or 5432), "PostgreSQL"
        elif image.startswith("redis"):
            where, what = (env.get("REDIS_HOST", ""), int(env.get("REDIS_PORT", "6379"))), "Redis"
        else:
            fail(f"cannot stand in for service {name!r} ({image})")
        try:
            socket.create_connection(where, timeout=5).close()
        except OSError as exc:
            fail(f"{name}: the machine's {what} at {where[0]}:{where[1]} does not answer: {exc}")
        print(f"• {name}: the machine's {what} at {where[0]}:{where[1]} (no {image} container)")


def compose(project: Project, args: list[str]) -> int:
    if args[:1] == ["version"]:
        print("Docker Compose version v2 (buildah shim)")
    elif args[:2] == ["config", "--services"]:
        print("\n".join(project.raw_services))
    elif args[:1] == ["ps"] and args[-1] in project.raw_services:
        for record in project.running(args[-1]):
            print(record["id"])
    elif args[:1] == ["build"] and len(args) == 2:
        built = build(project.root, project.image(args[1]))
        print(built.describe() if built.returncode == 0 else built.log[-4000:])
        return built.returncode
    elif args[:1] == ["run"] and "--rm" in args:
        made, service = project.container(args[-1])
        try:
            command = [str(part) for part in service["command"]]
            return subprocess.run(
                made.argv(command, project.app_env(service)), check=False
            ).returncode
        finally:
            made.remove()
    elif args[:3] == ["up", "-d", "--wait"]:
        infra(project, args[3:])
    elif args[:1] == ["up"] and "--scale" in args:
        name, count = args[args.index("--scale") + 1].split("=")
        for _ in range(int(count) - len(project.running(name))):
            start(project, name)
    elif args[:1] == ["up"] and args[-1] == "proxy":
        print("• proxy: not run by the buildah shim (no nginx image here)")
    else:
        fail(f"unsupported: docker compose {' '.join(args)}", 2)
    return 0


def main(args: list[str]) -> int:
    project = Project()
    with (project.workdir / "calls.log").open("a") as calls:
        calls.write(" ".join(args) + "\n")
    if args[:1] == ["compose"]:
        return compose(project, args[1:])
    ids = [arg for arg in args[1:] if not arg.startswith("-") and len(arg) == 64]
    if args[:1] == ["ps"]:
        filters = [args[i + 1] for i, arg in enumerate(args) if arg == "--filter"]
        record = project.find(next(f[3:] for f in filters if f.startswith("id=")))
        ok = alive(record["pid"])
        if ok and "health=healthy" in filters:
            ok = healthy(project, record)
        if ok:
            print(record["id"])
    elif args[:1] == ["logs"]:
        lines = int(args[args.index("--tail") + 1]) if "--tail" in args else 100
        log = Path(project.find(args[-1])["log"]).read_text(errors="replace")
        print("\n".join(log.splitlines()[-lines:]))
    elif args[:1] == ["stop"]:
        grace = float(args[args.index("--time") + 1]) if "--time" in args else 10
        for container_id in ids:
            stop(project.find(container_id)["pid"], grace)
    elif args[:1] == ["rm"]:
        for container_id in ids:
            record = project.find(container_id)
            if alive(record["pid"]):
                if "-f" not in args:
                    fail(f"container {container_id[:12]} is running: stop it first or use -f")
                stop(record["pid"], 0)
            Container.from_state(record["container"]).remove()
            project.containers.remove(record)
        project.save()
    else:
        fail(f"unsupported: docker {' '.join(args)}", 2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
