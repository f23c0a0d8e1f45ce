"""Settings: system checks with clear messages, and the middleware reading them."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import override_settings
from redis.client import PubSub

from clientsignal import conf
from clientsignal.apps import check_settings
from clientsignal.wsgi import ClientSignalMiddleware

SIGNAL_CONNECTION = "clientsignal.SignalConnection"


def ids(**settings):
    with override_settings(**settings):
        return sorted(message.id for message in check_settings())


def test_valid_settings_pass():
    assert ids() == []
    call_command("check", "--fail-level", "WARNING")


@pytest.mark.parametrize(
    "settings,expected",
    [
        ({"CLIENTSIGNAL_CONNECTIONS": ["/x"]}, ["clientsignal.E001"]),
        ({"CLIENTSIGNAL_CONNECTIONS": {"x": SIGNAL_CONNECTION}}, ["clientsignal.E002"]),
        ({"CLIENTSIGNAL_CONNECTIONS": {"/x/": SIGNAL_CONNECTION}}, ["clientsignal.E002"]),
        ({"CLIENTSIGNAL_CONNECTIONS": {"/x": "nope.Missing"}}, ["clientsignal.E003"]),
        ({"CLIENTSIGNAL_CONNECTIONS": {"/x": "clientsignal.echo.EchoConnection"}},
         ["clientsignal.E004"]),
        ({"CLIENTSIGNAL_MULTIPLEX": "multiplex"}, ["clientsignal.E005"]),
        ({"CLIENTSIGNAL_MULTIPLEX": "/signals"}, ["clientsignal.E006"]),
        ({"CLIENTSIGNAL_JSON_ENCODER": "nope.Encoder"}, ["clientsignal.E010"]),
        ({"CLIENTSIGNAL_JSON_ENCODER": "clientsignal.signal_object_hook"}, ["clientsignal.E011"]),
        ({"CLIENTSIGNAL_JSON_OBJECT_HOOK": "nope.hook"}, ["clientsignal.E012"]),
        ({"CLIENTSIGNAL_JSON_OBJECT_HOOK": "clientsignal.__version__"}, ["clientsignal.E013"]),
        ({"CLIENTSIGNAL_SOCKJS_OPTIONS": {"heartbeat": 1}}, ["clientsignal.E020"]),
        ({"CLIENTSIGNAL_SOCKJS_OPTIONS": {"allowed_origins": "https://x"}},
         ["clientsignal.E020"]),
        ({"CLIENTSIGNAL_ALLOWED_ORIGINS": "https://x"}, ["clientsignal.E050"]),
        ({"CLIENTSIGNAL_ALLOWED_ORIGINS": [None]}, ["clientsignal.E050"]),
        ({"CLIENTSIGNAL_HEADER_TIMEOUT": "ten"}, ["clientsignal.E051"]),
        ({"CLIENTSIGNAL_HEADER_TIMEOUT": 0}, ["clientsignal.E051"]),
        ({"CLIENTSIGNAL_STATS_TOKEN": 5}, ["clientsignal.E052"]),
        ({"CLIENTSIGNAL_STATS_TOKEN": ""}, ["clientsignal.E052"]),
        ({"CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS": -1}, ["clientsignal.E055"]),
        ({"CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS": "500"}, ["clientsignal.E055"]),
        ({"CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS": 0}, []),
        ({"CLIENTSIGNAL_USER_CHECK_INTERVAL": -1}, ["clientsignal.E056"]),
        ({"CLIENTSIGNAL_USER_CHECK_INTERVAL": "60"}, ["clientsignal.E056"]),
        ({"CLIENTSIGNAL_BACKEND": "amqp://localhost"}, ["clientsignal.E030"]),
        # A Redis URL that is not one: said at start-up, not when a signal is first sent.
        ({"CLIENTSIGNAL_BACKEND": "redis:/bad"}, ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "redis://host:port/0"}, ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "redis://host/zero"}, ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "unix://"}, ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "redis+sentinel://h1:26379,h2:26379"}, ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "redis+sentinel://h1/mymaster?sentinel_pass=x"},
         ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "redis+sentinel://h1:26379,h2:26379/mymaster/0"}, []),
        ({"CLIENTSIGNAL_BACKEND": "redis+cluster://h1:7000/1"}, ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "redis+cluster://h1:7000,h2:port"}, ["clientsignal.E030"]),
        # (A cluster needs redis-py 5.0's sharded pub/sub: said at start-up on an older one.)
        ({"CLIENTSIGNAL_BACKEND": "rediss+cluster://u:p@h1:7000,h2:7001"},
         [] if hasattr(PubSub, "ssubscribe") else ["clientsignal.E030"]),
        ({"CLIENTSIGNAL_BACKEND": "memory://", "CLIENTSIGNAL_BACKEND_OPTIONS": []},
         ["clientsignal.E031"]),
        ({"CLIENTSIGNAL_BACKEND_OPTIONS": {"GLOBAL_LIMITS": True}}, ["clientsignal.E032"]),
        ({"CLIENTSIGNAL_BACKEND": "redis://localhost/0",
          "CLIENTSIGNAL_BACKEND_OPTIONS": {"GLOBAL_LIMITS": "yes"}}, ["clientsignal.E032"]),
    ],
)  # fmt: skip
def test_invalid_settings_are_reported(settings, expected):
    assert ids(**settings) == expected


def call(app, path, method="GET"):
    status = []
    body = b"".join(
        app(
            {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": "", "wsgi.input": None},
            lambda s, h, e=None: status.append(s),
        )
    )
    return status[0], body


def test_middleware_reads_the_settings_and_passes_other_paths():
    def django_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django saw " + environ["PATH_INFO"].encode()]

    with override_settings(CLIENTSIGNAL_SOCKJS_OPTIONS={"heartbeat_delay": 7, "websocket": False}):
        app = ClientSignalMiddleware(django_app)
    assert call(app, "/elsewhere") == ("200 OK", b"django saw /elsewhere")
    assert call(app, "/signalsx") == ("200 OK", b"django saw /signalsx")
    status, body = call(app, "/signals/info")
    assert status == "200 OK" and json.loads(body)["websocket"] is False
    assert app.services.server_for("/signals").options.heartbeat_delay == 7
    # The iframe page points at our static copy of sockjs-client.
    assert b'src="/static/clientsignal/sockjs.min.js"' in call(app, "/signals/iframe.html")[1]


def test_template_tag():
    from django.template import Context, Template

    html = Template("{% load clientsignal %}{% clientsignal_js %}").render(Context())
    assert html == (
        '<script src="/static/clientsignal/sockjs.min.js"></script>\n'
        '<script src="/static/clientsignal/clientsignal.js"></script>'
    )
    with override_settings(CLIENTSIGNAL_SOCKJS_URL="/assets/sockjs.js"):
        assert '<script src="/assets/sockjs.js">' in Template(
            "{% load clientsignal %}{% clientsignal_js %}"
        ).render(Context())
    with override_settings(CLIENTSIGNAL_MULTIPLEX="/clientsignal/multiplex"):
        assert (
            Template("{% load clientsignal %}{% clientsignal_js %}")
            .render(Context())
            .endswith(
                '<script src="/static/clientsignal/clientsignal.js"'
                ' data-multiplex="/clientsignal/multiplex"></script>'
            )
        )


def test_template_tag_carries_a_csp_nonce():
    from types import SimpleNamespace

    from django.template import Context, Template

    given = Template("{% load clientsignal %}{% clientsignal_js nonce=n %}")
    html = given.render(Context({"n": 'a"b'}))
    assert html.count(' nonce="a&quot;b"') == 2  # both tags, escaped
    # The request's csp_nonce (Django 6's CSP middleware, django-csp), when it has one.
    tag = Template("{% load clientsignal %}{% clientsignal_js %}")
    request = SimpleNamespace(csp_nonce="r4nd0m")
    assert tag.render(Context({"request": request})).count(' nonce="r4nd0m"') == 2
    assert "nonce" not in tag.render(Context({"request": SimpleNamespace()}))


def test_multiplexed_service_is_mounted_and_resolves_only_connection_prefixes():
    app = ClientSignalMiddleware(
        lambda environ, start_response: [],
        {"/signals": SIGNAL_CONNECTION, "/rooms/<int:room_id>": SIGNAL_CONNECTION},
        multiplex="/mux",
    )
    assert call(app, "/mux/info")[0] == "200 OK"
    endpoint = app.services.endpoint("/rooms/7")
    assert (endpoint.server, endpoint.url_kwargs) == (
        app.services.server_for("/rooms/<int:room_id>"),
        {"room_id": 7},
    )
    assert app.services.endpoint("/signals").server is app.services.server_for("/signals")
    # Not the multiplexed service itself, not a URL under a prefix, not an unknown path.
    for path in ("/mux", "/signals/info", "/rooms/x", "/elsewhere"):
        assert app.services.endpoint(path) is None


def test_template_tag_with_manifest_storage(tmp_path):
    from django.template import Context, Template

    storages = {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
    }
    with override_settings(STATIC_ROOT=str(tmp_path), STORAGES=storages):
        call_command("collectstatic", "--noinput", verbosity=0)
        html = Template("{% load clientsignal %}{% clientsignal_js %}").render(Context())
    assert "/static/clientsignal/clientsignal." in html and ".js" in html
    assert "/static/clientsignal/clientsignal.js" not in html  # hashed names
    assert "/static/clientsignal/sockjs.min.js" not in html


@pytest.mark.parametrize(
    "argv,environ,expected",
    [
        (["gunicorn", "app"], {}, 1),
        (["gunicorn", "-w", "4", "app"], {}, 4),
        (["gunicorn", "-w4", "app"], {}, 4),
        (["gunicorn", "--workers=3", "app"], {}, 3),
        (["gunicorn", "app"], {"WEB_CONCURRENCY": "2"}, 2),
        (["gunicorn", "app"], {"GUNICORN_CMD_ARGS": "--workers 5"}, 5),
    ],
)
def test_configured_workers(argv, environ, expected):
    from clientsignal.conf import configured_workers

    assert configured_workers(argv, environ) == expected


def test_several_workers_without_redis_warn(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert ids() == ["clientsignal.W001"]
    assert ids(CLIENTSIGNAL_BACKEND="redis://localhost:6379/0") == []
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert ids() == []


@pytest.mark.parametrize(
    "debug,allowed,expected",
    [
        (True, [], (".localhost", "127.0.0.1", "[::1]")),  # Django's own defaults
        (False, [], ()),  # and none without DEBUG: every host is refused
        (False, ["app.example.com"], ("app.example.com",)),
    ],
)
def test_the_hosts_sockets_answer_to_are_django_allowed_hosts(debug, allowed, expected):
    def host(name):
        environ = {"HTTP_HOST": name, "PATH_INFO": "/signals/info", "REQUEST_METHOD": "GET"}
        status = []
        body = b"".join(app({**environ, "wsgi.input": None}, lambda s, h: status.append(s)))
        return status[0], body

    with override_settings(DEBUG=debug, ALLOWED_HOSTS=allowed):
        options = conf.sockjs_options()
        app = ClientSignalMiddleware(lambda environ, start_response: [])
    assert options["allowed_hosts"] == expected
    assert host("evil.example") == ("400 Bad Request", b"Host not allowed.")
    for name in expected:
        assert host(name.lstrip(".") + ":8000")[0] == "200 OK"
