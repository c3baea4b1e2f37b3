# SPDX-License-Identifier: MIT
"""Generated documentation: the blocks of README.md and docs/ that code and committed results write."""
