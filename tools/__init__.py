# SPDX-License-Identifier: MIT
"""The repository's own tooling (documentation generators); not part of the installed package."""
