"""CLI command modules; each defines ``register(groups)`` (see ``agent.__main__``).

Shared helpers for commands live in ``agent.cli.common``.
"""
