"""Peer for bench/: a minimal Django Channels project served by daphne (see asgi.py)."""
