# SPDX-License-Identifier: MIT
"""Reports: tables and plots."""
