# SPDX-License-Identifier: MIT
"""No silent skips in CI: a test that skips for a missing capability CI provides fails the CI run instead.

A test may skip where a capability is missing (a tmpfs it cannot mount without root, a browser that is not
installed). On a developer's machine that is a skip; in CI (``$CI`` set), where ``.ci/run`` runs as root and
installs Chromium, the same skip would mean the test quietly stopped testing, so the run fails and names it.
Capabilities CI cannot promise (native bf16: the CPU kind varies) are not listed: their skips stay skips.
"""

import os

# the start of each skip reason that names a capability CI provides
CI_PROVIDES = {
    "cannot mount a tmpfs here": "root on Linux (.ci/run runs as root)",
    "chromium is not installed": "Chromium (.ci/run installs it)",
    "git is not installed": "git (CI runs in a clone)",
    "not a git checkout": "a git checkout (CI runs in a clone)",
}
_skipped_in_ci: list[str] = []


def _reason(report) -> str:
    longrepr = report.longrepr
    return str(longrepr[-1]) if isinstance(longrepr, tuple) else str(longrepr)


def pytest_runtest_logreport(report):
    if report.skipped and os.environ.get("CI"):
        reason = _reason(report)
        for start, provided in CI_PROVIDES.items():
            if start in reason:
                _skipped_in_ci.append(f"{report.nodeid}: skipped ({reason.strip()}), but CI provides {provided}")


def pytest_sessionfinish(session, exitstatus):
    if _skipped_in_ci:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for line in _skipped_in_ci:
            if reporter is not None:
                reporter.write_line(f"FAILED (silent skip in CI) {line}", red=True)
        session.exitstatus = 1
