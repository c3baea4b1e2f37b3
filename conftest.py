# SPDX-License-Identifier: MIT
"""The repository root on ``sys.path`` for the tests, however pytest is started: tests import ``tools/``."""
