"""Commands beyond NLU (serve, chat, content, users ...), registered on the CLI parser."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this module's subcommands to the CLI's subparsers."""
    _ = (sub, argparse)
