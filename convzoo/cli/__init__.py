# SPDX-License-Identifier: MIT
"""The ``convzoo`` command: thin subcommands over the library.

Every subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``. An error the user can fix (a :class:`convzoo.errors.ConvzooError`:
unknown model, bad option, missing or corrupt data or checkpoint, out of memory
or disk) ends as one line on stderr and exit code 2, in every command; so does
running out of memory or disk, or a read-only output, wherever it happens. Any
other exception is a bug in convzoo and shows its traceback (exit code 1), so
that it gets reported rather than mistaken for a user error. Every numeric
option is checked against one table of rules (:mod:`convzoo.options`) before a
command starts.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConvzooError, out_of_memory, system_limit
from ..options import check_options
from . import bench as bench_command
from . import compare as compare_command
from . import demo as demo_command
from . import evaluate as evaluate_command
from . import experiment as experiment_command
from . import export as export_command
from . import lecture as lecture_command
from . import models as models_command
from . import predict as predict_command
from . import summary as summary_command
from . import train as train_command

COMMANDS = [
    demo_command,
    compare_command,
    models_command,
    summary_command,
    lecture_command,
    experiment_command,
    train_command,
    evaluate_command,
    bench_command,
    export_command,
    predict_command,
]


class Parser(argparse.ArgumentParser):
    """argparse with convzoo's error contract: a command line it cannot parse is one line on stderr, exit code 2
    (argparse prints the whole usage first: 35 lines for ``train``, which bury the one that says what is wrong)."""

    def error(self, message: str):
        listed = "commands" if " " not in self.prog else "options"
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the {listed})\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="convzoo", description="Convolutional network architectures: build, measure, train, compare.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints escaped, never kills a run
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        check_options(vars(args))  # every numeric option against the one table of rules
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("convzoo: interrupted", file=sys.stderr)
        return 130
    except ConvzooError as error:
        print(f"convzoo: error: {error}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError, OSError) as error:
        known = out_of_memory(error) or system_limit(error)
        if known is None:
            raise  # a bug in convzoo: keep its traceback
        print(f"convzoo: error: {known}", file=sys.stderr)
        return 2
