"""The deployment docs/deploying.md describes, run as printed: the tested project
(tests/deploying/project) collected into a STATIC_ROOT, under the README's production command,
and Debian's nginx with the guide's configuration in front of it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.test_production_command import readme_command
from tests.support.servers import _NO_CONTROL_SOCKET, REPO, GunicornServer, _Process, free_port

PROJECT = Path(__file__).resolve().parent / "project"
GUIDE = REPO / "docs" / "deploying.md"
DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")


def fenced_blocks(language: str) -> list[str]:
    """The guide's code blocks in ``language``, in order."""
    return re.findall(r"^```%s\n(.*?)^```$" % language, GUIDE.read_text(), re.M | re.S)


def project_env(static_root: Path, **extra: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "deployed.settings",
        "DEPLOYED_STATIC_ROOT": str(static_root),
        "PYTHONPATH": os.pathsep.join([str(PROJECT), str(REPO)]),
        **extra,
    }


def collectstatic(static_root: Path) -> None:
    """``manage.py collectstatic``, as the guide says to run at each deploy."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT,
        env={**os.environ, **project_env(static_root)},
        check=True,
        timeout=60,
    )


def readable_dir(prefix: str) -> Path:
    """A temporary folder nginx's workers (www-data, when nginx starts as root) can read."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


class ReadmeCommand(GunicornServer):
    """The README's production command, as printed, for the tested project: only the address
    (a free port on 127.0.0.1) and the project's module changed."""

    def __init__(self, env: dict[str, str], app: str = "deployed.wsgi:application") -> None:
        super().__init__(app, env=env, cwd=PROJECT)

    def command(self) -> list[str]:
        printed = readme_command()
        args = [sys.executable, "-m", "gunicorn", *printed[1:]]
        args[args.index("-b") + 1] = "127.0.0.1:%d" % self.port
        args[args.index("myproject.wsgi:application")] = self.app
        return [*args[:-1], *_NO_CONTROL_SOCKET, args[-1]]


class Nginx(_Process):
    """Debian's nginx, with Debian's own nginx.conf (its http settings: gzip on, its TLS
    protocols) including the guide's configuration where it includes sites-enabled/*. Only the
    files a test may not write (pid, logs, temporary bodies) are moved to a folder of its own."""

    name = "nginx"

    def __init__(self, site: str) -> None:
        super().__init__()
        self.dir = readable_dir("clientsignal-nginx-")
        (self.dir / "myproject").write_text(site)
        conf = DEBIAN_NGINX_CONF.read_text()
        for old, new in {
            "pid /run/nginx.pid;": "pid %s/nginx.pid;" % self.dir,
            "error_log /var/log/nginx/error.log;": "error_log %s/error.log;" % self.dir,
            "access_log /var/log/nginx/access.log;": "access_log %s/access.log;" % self.dir,
            "include /etc/nginx/conf.d/*.conf;": "",
            "include /etc/nginx/sites-enabled/*;": "".join(
                "%s_temp_path %s/%s;\n" % (kind, self.dir, kind)
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + "include %s/myproject;" % self.dir,
        }.items():
            assert old in conf, "Debian's nginx.conf no longer says %r" % old
            conf = conf.replace(old, new)
        (self.dir / "nginx.conf").write_text(conf)

    def command(self) -> list[str]:
        nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin:/bin")
        if nginx is None:
            pytest.fail("nginx is not installed: apt-get install nginx-light (.ci/run does)")
        return [
            nginx, "-c", str(self.dir / "nginx.conf"),
            "-e", str(self.dir / "error.log"), "-g", "daemon off;",
        ]  # fmt: skip

    def log_text(self) -> str:
        error_log = self.dir / "error.log"
        return super().log_text() + (error_log.read_text() if error_log.exists() else "")

    def stop(self, *args: object, **kwargs: object) -> None:
        super().stop(*args, **kwargs)  # type: ignore[arg-type]
        shutil.rmtree(self.dir, ignore_errors=True)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the browser is told to accept it) and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    key.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return cert, key


def guide_site(gunicorn_port: int, http_port: int, https_port: int, static_root: Path,
               cert: Path, key: Path) -> str:  # fmt: skip
    """The guide's nginx configuration with its documented placeholders filled in: the ports,
    the certificate, STATIC_ROOT and gunicorn's address. Nothing else is changed."""
    [site, *_] = fenced_blocks("nginx")
    for old, new in {
        "server 127.0.0.1:8000;": "server 127.0.0.1:%d;" % gunicorn_port,
        "listen 80;": "listen %d;" % http_port,
        "listen 443 ssl http2;": "listen %d ssl http2;" % https_port,
        "/etc/letsencrypt/live/example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/example.com/privkey.pem": str(key),
        "alias /srv/myproject/static/;": "alias %s/;" % static_root,
    }.items():
        assert site.count(old) == 1, "the guide's nginx block no longer has %r" % old
        site = site.replace(old, new)
    return site


class Deployment:
    def __init__(self, gunicorn: GunicornServer, nginx: Nginx, http_port: int, https_port: int,
                 static_root: Path) -> None:  # fmt: skip
        self.gunicorn = gunicorn
        self.nginx = nginx
        self.http_port = http_port
        self.https_port = https_port
        self.static_root = static_root


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    static_root = readable_dir("clientsignal-static-")
    try:
        collectstatic(static_root)
        for folder in static_root.rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
        with tempfile.TemporaryDirectory() as tls:
            cert, key = self_signed_certificate(Path(tls))
            with ReadmeCommand(project_env(static_root)) as gunicorn:
                http_port, https_port = free_port(), free_port()
                site = guide_site(gunicorn.port, http_port, https_port, static_root, cert, key)
                nginx = Nginx(site)
                nginx.port = https_port
                with nginx:
                    yield Deployment(gunicorn, nginx, http_port, https_port, static_root)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)


def unit_exec_start() -> list[str]:
    """The ExecStart of the guide's systemd unit."""
    [unit] = fenced_blocks("ini")
    [line] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))
