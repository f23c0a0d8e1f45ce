"""The issue's "how it is shown to work" tests, as an attacker and a broken network would run
them: real sockets (bound to 127.0.0.2 for the attacker), real gunicorn with the README's
production command, real redis-server, the project in ./project (settings from ATTACK_*
environment variables). Tests marked xfail(strict) show a bug; their reason says where.
``pytest tests/attacks -s`` prints the figures measured (connect times, RSS growth)."""
