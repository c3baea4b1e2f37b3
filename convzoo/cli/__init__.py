"""The ``convzoo`` command: thin subcommands over the library.

Every subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``. Errors a user can fix (unknown model, bad size, missing
file) end as one line on stderr and exit code 2, never a traceback; set
``CONVZOO_DEBUG=1`` to see the traceback of an unexpected failure.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import bench as bench_command
from . import compare as compare_command
from . import evaluate as evaluate_command
from . import export as export_command
from . import lecture as lecture_command
from . import models as models_command
from . import predict as predict_command
from . import summary as summary_command
from . import train as train_command

COMMANDS = [compare_command, models_command, summary_command, lecture_command, train_command, evaluate_command, bench_command, export_command, predict_command]


class UserError(Exception):
    """An error caused by the input; the CLI prints its message alone."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convzoo", description="Convolutional network architectures: build, measure, train, compare."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("convzoo: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError) as error:
        if os.environ.get("CONVZOO_DEBUG"):
            raise
        print(f"convzoo: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001  (the CLI promises no tracebacks)
        if os.environ.get("CONVZOO_DEBUG"):
            raise
        print(f"convzoo: unexpected {type(error).__name__}: {error} (CONVZOO_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
