"""The Django app: settings are checked once, at start-up, by Django's system checks."""

from __future__ import annotations

import json
from typing import Any

from django.apps import AppConfig
from django.core import checks


class ClientSignalConfig(AppConfig):
    name = "clientsignal"
    verbose_name = "Client signals"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from django.apps import apps
        from django.contrib.auth.signals import user_logged_out

        from .logout import close_on_logout
        from .serving_checks import watch_requests

        checks.register(check_settings, "clientsignal")
        # Logging out closes that Django session's sockets, in every process.
        user_logged_out.connect(close_on_logout, dispatch_uid="clientsignal.close_on_logout")
        if apps.is_installed("django.contrib.auth"):
            connect_user_changes()
        import_connections()
        # A socket request reaching Django means wsgi.py forgot the middleware: say so, once.
        watch_requests()


def connect_user_changes() -> None:
    """A user saved with another password or ``is_active``, or deleted: that user's
    connections check their session again, in every process (see :mod:`.revocation`)."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from .revocation import user_deleted, user_saved

    model = get_user_model()
    post_save.connect(user_saved, sender=model, dispatch_uid="clientsignal.user_saved")
    post_delete.connect(user_deleted, sender=model, dispatch_uid="clientsignal.user_deleted")


def import_connections() -> None:
    """Import the classes ``CLIENTSIGNAL_CONNECTIONS`` names, in every process that sets Django
    up (web workers, management commands, task workers): their ``listen`` and ``broadcast``
    registrations then hold everywhere a signal may be sent. One that cannot be imported is
    left to the system check (clientsignal.E003), which says why."""
    from django.utils.module_loading import import_string

    from . import conf

    connections = conf.get("CLIENTSIGNAL_CONNECTIONS")
    if not isinstance(connections, dict):
        return
    for path in connections.values():
        if isinstance(path, str):
            try:
                import_string(path)
            except ImportError:
                pass


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every ``CLIENTSIGNAL_*`` setting, with a message that says how to fix it."""
    from . import conf

    errors: list[checks.CheckMessage] = []
    connections = conf.get("CLIENTSIGNAL_CONNECTIONS")
    errors += _check_connections(connections)
    errors += _check_declarations(connections)
    errors += _check_multiplex(conf.get("CLIENTSIGNAL_MULTIPLEX"), connections)
    errors += _check_encoding(conf)
    errors += _check_sockjs_options(conf.get("CLIENTSIGNAL_SOCKJS_OPTIONS"))
    errors += _check_values(conf)
    errors += check_sockjs_bundle()
    errors += _check_backend(
        conf.get("CLIENTSIGNAL_BACKEND"), conf.get("CLIENTSIGNAL_BACKEND_OPTIONS")
    )
    errors += check_workers()
    if conf.connections():
        errors += check_database_drivers()
    return errors


def check_database_drivers() -> list[checks.CheckMessage]:
    """A database driver that blocks the gevent worker: the worker refuses to start with it
    (``clientsignal.databases.prepare``), so ``manage.py check`` says so first."""
    from .databases import driver_problems

    problems = driver_problems()
    return [checks.Error(message, hint=hint, id=check) for check, message, hint in problems]


def check_workers() -> list[checks.CheckMessage]:
    """Several workers need the Redis backend for the HTTP fallback transports. In
    ``manage.py check`` the number of workers comes from ``GUNICORN_CMD_ARGS`` and
    ``WEB_CONCURRENCY``; under gunicorn, the first worker checks gunicorn's own setting."""
    from . import conf

    warning = workers_warning(conf.configured_workers())
    return [] if warning is None else [warning]


def workers_warning(workers: int) -> checks.Warning | None:
    """``clientsignal.W001`` for ``workers`` gunicorn workers, if it applies."""
    from . import conf
    from .backends import is_redis_url

    if workers <= 1 or is_redis_url(conf.backend_url()) or not conf.connections():
        return None
    return checks.Warning(
        "%d gunicorn workers with the in-process backend: the HTTP fallback transports "
        "(xhr, eventsource, jsonp...) send each request of a session separately, and one "
        "that lands on another worker finds no session; broadcasts reach only the "
        "connections of the worker that sent the signal." % workers,
        hint='Set CLIENTSIGNAL_BACKEND = "redis://host:6379/0" (workers then share '
        "sessions and broadcasts), or run one worker.",
        id="clientsignal.W001",
    )


def _check_connections(value: Any) -> list[checks.CheckMessage]:
    from django.utils.module_loading import import_string

    from .connection import BaseSignalConnection

    if not isinstance(value, dict):
        return [
            checks.Error(
                "CLIENTSIGNAL_CONNECTIONS must be a dict of URL prefix -> connection class path.",
                hint="CLIENTSIGNAL_CONNECTIONS = {'/simple': 'myapp.PingSignalConnection'}",
                id="clientsignal.E001",
            )
        ]
    errors = []
    for prefix, path in value.items():
        if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
            errors.append(
                checks.Error(
                    "CLIENTSIGNAL_CONNECTIONS key %r is not a URL prefix." % (prefix,),
                    hint="Use a path starting with '/' and not ending with one, like '/simple'.",
                    id="clientsignal.E002",
                )
            )
        try:
            cls = import_string(path) if isinstance(path, str) else path
        except ImportError as error:
            errors.append(
                checks.Error(
                    "CLIENTSIGNAL_CONNECTIONS[%r] = %r cannot be imported: %s"
                    % (prefix, path, error),
                    hint="Give a dotted class path, like 'myapp.connections.PingConnection'.",
                    id="clientsignal.E003",
                )
            )
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseSignalConnection)):
            errors.append(
                checks.Error(
                    "CLIENTSIGNAL_CONNECTIONS[%r] = %r is not a subclass of "
                    "clientsignal.BaseSignalConnection." % (prefix, path),
                    hint="Subclass clientsignal.SignalConnection (or BaseSignalConnection).",
                    id="clientsignal.E004",
                )
            )
    return errors


def _check_declarations(value: Any) -> list[checks.CheckMessage]:
    """``clientsignal.W002``: a listened event whose data nothing declares (no schema, a plain
    Django ``Signal``): once per event and signal, naming the first class that listens."""
    from django.utils.module_loading import import_string

    from . import schemas
    from .connection import BaseSignalConnection

    warnings: list[checks.CheckMessage] = []
    seen: set[tuple[str, int]] = set()
    for path in value.values() if isinstance(value, dict) else ():
        try:
            cls = import_string(path) if isinstance(path, str) else path
        except ImportError:
            continue  # clientsignal.E003
        if not (isinstance(cls, type) and issubclass(cls, BaseSignalConnection)):
            continue  # clientsignal.E004
        for event, signal in schemas.undeclared(cls):
            if (event, id(signal)) in seen:
                continue
            seen.add((event, id(signal)))
            warnings.append(
                checks.Warning(
                    "%s listens for %r with a signal that declares none of its data: a browser "
                    "may send any keys, of any type, and one the receivers need but do not get "
                    "fails inside them (an internal error)." % (cls.__name__, event),
                    hint="Declare the data with a dataclass or TypedDict: %s.listen(%r, signal, "
                    "schema=...), or clientsignal.Signal(schema=...); or its keys alone with "
                    "clientsignal.Signal(providing_args=[...])." % (cls.__name__, event),
                    obj="%s.%s" % (cls.__module__, cls.__qualname__),
                    id="clientsignal.W002",
                )
            )
    return warnings


def _check_multiplex(value: Any, connections: Any) -> list[checks.CheckMessage]:
    if value is None:
        return []
    if not isinstance(value, str) or not value.startswith("/") or value.endswith("/"):
        return [
            checks.Error(
                "CLIENTSIGNAL_MULTIPLEX = %r is not a URL prefix." % (value,),
                hint="Use a path starting with '/' and not ending with one, like "
                "'/clientsignal/multiplex', or None to turn multiplexing off.",
                id="clientsignal.E005",
            )
        ]
    if isinstance(connections, dict) and value in connections:
        return [
            checks.Error(
                "CLIENTSIGNAL_MULTIPLEX = %r is also a key of CLIENTSIGNAL_CONNECTIONS." % value,
                hint="Give the multiplexed service a prefix of its own.",
                id="clientsignal.E006",
            )
        ]
    return []


def _check_encoding(conf: Any) -> list[checks.CheckMessage]:
    errors = []
    try:
        encoder = conf.json_encoder()
    except ImportError as error:
        encoder = None
        errors.append(_import_error("CLIENTSIGNAL_JSON_ENCODER", error, "clientsignal.E010"))
    if encoder is not None and not (
        isinstance(encoder, type) and issubclass(encoder, json.JSONEncoder)
    ):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_JSON_ENCODER must be a json.JSONEncoder subclass, not %r."
                % (encoder,),
                hint="Subclass clientsignal.SignalEncoder.",
                id="clientsignal.E011",
            )
        )
    try:
        hook = conf.json_object_hook()
    except ImportError as error:
        hook = None
        errors.append(_import_error("CLIENTSIGNAL_JSON_OBJECT_HOOK", error, "clientsignal.E012"))
    if hook is not None and not callable(hook):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_JSON_OBJECT_HOOK must be callable, not %r." % (hook,),
                hint="Give the dotted path of a function taking a dict.",
                id="clientsignal.E013",
            )
        )
    return errors


def _check_values(conf: Any) -> list[checks.CheckMessage]:
    """The settings that are one value each."""
    errors: list[checks.CheckMessage] = []
    origins = conf.get("CLIENTSIGNAL_ALLOWED_ORIGINS")
    if origins is not None and (
        isinstance(origins, str)
        or not isinstance(origins, (list, tuple))
        or not all(isinstance(o, str) for o in origins)
    ):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_ALLOWED_ORIGINS must be a list of strings, not %r" % (origins,),
                hint='Origins or host patterns, as ALLOWED_HOSTS: ["https://example.com", '
                '".example.com"]; ["*"] allows every origin; None follows ALLOWED_HOSTS.',
                id="clientsignal.E050",
            )
        )
    timeout = conf.get("CLIENTSIGNAL_HEADER_TIMEOUT")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_HEADER_TIMEOUT must be a number of seconds above 0, not %r"
                % (timeout,),
                hint="The default is 10.0: a client has that long to send a request's head.",
                id="clientsignal.E051",
            )
        )
    bound = conf.get("CLIENTSIGNAL_DATABASE_CONNECTIONS")
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_DATABASE_CONNECTIONS must be a whole number of connections, 0 or "
                "more, not %r" % (bound,),
                hint="The default is 20 per worker process and database alias; 0 leaves them "
                "unbounded (one per socket greenlet that touches the database).",
                id="clientsignal.E053",
            )
        )
    wait = conf.get("CLIENTSIGNAL_DATABASE_WAIT")
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait > 0:
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_DATABASE_WAIT must be a number of seconds above 0, not %r" % (wait,),
                hint="The default is 10.0: code waits that long for a database connection.",
                id="clientsignal.E054",
            )
        )
    per_address = conf.get("CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS")
    if per_address is not None and (
        isinstance(per_address, bool) or not isinstance(per_address, int) or per_address < 0
    ):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS must be a whole number of connections "
                "(0: no limit) or None, not %r" % (per_address,),
                hint="None, the default, is a tenth of gunicorn's worker_connections.",
                id="clientsignal.E055",
            )
        )
    interval = conf.get("CLIENTSIGNAL_USER_CHECK_INTERVAL")
    if interval is not None and (
        isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0
    ):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_USER_CHECK_INTERVAL must be a number of seconds, 0 or more, or "
                "None, not %r" % (interval,),
                hint="The default is 60.0: a logged-in user's connection is checked against its "
                "Django session at least that often; None checks only when the user is saved.",
                id="clientsignal.E056",
            )
        )
    token = conf.get("CLIENTSIGNAL_STATS_TOKEN")
    if token is not None and (not isinstance(token, str) or not token):
        errors.append(
            checks.Error(
                "CLIENTSIGNAL_STATS_TOKEN must be a non-empty string or None, not %r"
                % (type(token).__name__,),
                hint="A long random string (python3 -c 'import secrets; "
                "print(secrets.token_urlsafe())'), read from the environment.",
                id="clientsignal.E052",
            )
        )
    return errors


def _check_sockjs_options(value: Any) -> list[checks.CheckMessage]:
    from .sockjs_protocol import SockJSOptions
    from .sockjs_protocol.options import OPTION_NAMES

    try:
        SockJSOptions().updated(dict(value))
    except (TypeError, ValueError) as error:
        return [
            checks.Error(
                "CLIENTSIGNAL_SOCKJS_OPTIONS is invalid: %s" % error,
                hint="Valid keys: %s." % ", ".join(OPTION_NAMES),
                id="clientsignal.E020",
            )
        ]
    return []


def _check_backend(url: Any, options: Any) -> list[checks.CheckMessage]:
    from .backends import backend_class, is_redis_url

    global_limits = isinstance(options, dict) and options.get("GLOBAL_LIMITS", False)
    if global_limits is not False and (
        not isinstance(global_limits, bool) or not is_redis_url(url)
    ):
        return [
            checks.Error(
                "CLIENTSIGNAL_BACKEND_OPTIONS['GLOBAL_LIMITS'] must be True or False, and True "
                "needs the Redis backend (it counts every worker's sessions there), not %r "
                "with CLIENTSIGNAL_BACKEND %r" % (global_limits, url),
                hint='CLIENTSIGNAL_BACKEND = "redis://..." with {"GLOBAL_LIMITS": True}, or '
                "leave it out: each worker then enforces the limits on its own sessions.",
                id="clientsignal.E032",
            )
        ]
    if url is None:
        return []
    try:
        if not isinstance(url, str):
            raise ValueError("CLIENTSIGNAL_BACKEND must be a URL string, not %r" % (url,))
        backend_class(url)
    except (ValueError, ImportError) as error:
        return [
            checks.Error(
                str(error),
                hint='CLIENTSIGNAL_BACKEND = "redis://[user]:[password]@[host]:[port]/[db]" (one '
                'server), "redis+sentinel://[user]:[password]@host1:26379,host2:26379'
                '/service/[db]" (Sentinel) or "redis+cluster://[user]:[password]@host:port,'
                'host:port,..." (a Redis Cluster)',
                id="clientsignal.E030",
            )
        ]
    if not isinstance(options, dict):
        return [
            checks.Error(
                "CLIENTSIGNAL_BACKEND_OPTIONS must be a dict.",
                hint="CLIENTSIGNAL_BACKEND_OPTIONS = {'CHANNEL_PREFIX': 'clientsignal'}",
                id="clientsignal.E031",
            )
        ]
    return []


def _import_error(setting: str, error: Exception, check_id: str) -> checks.Error:
    return checks.Error(
        "%s cannot be imported: %s" % (setting, error),
        hint="Give a dotted import path.",
        id=check_id,
    )


def check_sockjs_bundle() -> list[checks.CheckMessage]:
    """Without ``CLIENTSIGNAL_SOCKJS_URL`` the pages load our copy of sockjs-client (and
    ManifestStaticFilesStorage its source map): the static files finders must find both."""
    from django.contrib.staticfiles import finders

    from . import conf

    if conf.get("CLIENTSIGNAL_SOCKJS_URL"):
        return []
    missing = [
        path
        for path in (conf.SOCKJS_STATIC_PATH, conf.SOCKJS_STATIC_PATH + ".map")
        if not finders.find(path)
    ]
    if not missing:
        return []
    return [
        checks.Error(
            "The sockjs-client bundle %s is not found by the static files finders "
            "(STATICFILES_FINDERS): pages using {%% clientsignal_js %%} cannot load it."
            % " and ".join(missing),
            hint="Reinstall django-clientsignal (its wheel ships the bundle); from a clone of "
            "the repository run `npm ci && npm run vendor`; or set CLIENTSIGNAL_SOCKJS_URL to "
            "a sockjs-client 1.x URL.",
            id="clientsignal.E040",
        )
    ]
