"""Peer servers for the benchmark, each in its own virtual environment or node_modules."""
