# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every file that takes a comment names its license with an SPDX identifier.

`spdx.py` lists the tracked files without one and exits 1 if there are any (`make lint` runs it);
`spdx.py --fix` adds the identifier: BSD-2-Clause in plugins/module_utils (as community.hashi_vault
does), GPL-3.0-or-later elsewhere. Markdown, reStructuredText, JSON, the license texts, the test
certificates and what antsibull-changelog writes itself are left out: they take no comment, or
their tools rewrite them.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys

TAG = "SPDX-License-Identifier:"
COMMENTED = ("*.py", "*.yml", "*.yaml", "*.j2", "*.cfg", "*.ini", "*.sh", "*requirements*.txt", "Makefile", ".ci/run",
             ".gitignore", ".ansible-lint", "extensions/awx/project/collections/requirements.yml")
LEFT_OUT = ("LICENSES/*", "changelogs/changelog.yaml", "changelogs/fragments/*", "tests/emulators/certs/*",
            "tests/output/*")


def license_of(path):
    return "BSD-2-Clause" if path.startswith("plugins/module_utils/") else "GPL-3.0-or-later"


def files():
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split()
    # A tracked file deleted in the work tree is listed too, until the deletion is committed.
    return sorted(p for p in set(listed) if os.path.isfile(p)
                  and any(fnmatch.fnmatch(p, pattern) for pattern in COMMENTED)
                  and not any(fnmatch.fnmatch(p, pattern) for pattern in LEFT_OUT))


def fixed(path, text):
    """The text with the identifier after the copyright lines, the document start or the shebang."""
    lines = text.splitlines(keepends=True)
    line = "# %s %s\n" % (TAG, license_of(path))
    at = 0
    while at < len(lines) and (lines[at].startswith("#!") or lines[at].startswith("# -*-") or lines[at].strip() == "---"
                               or lines[at].startswith("# Copyright") or lines[at].startswith("# GNU General Public")
                               or lines[at].startswith("# Simplified BSD")):
        at += 1
    return "".join(lines[:at] + [line] + lines[at:])


def main(argv):
    missing = []
    for path in files():
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
        if TAG in text:
            continue
        missing.append(path)
        if "--fix" in argv:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(fixed(path, text))
    if missing and "--fix" not in argv:
        print("These files have no %s line (tests/tools/spdx.py --fix adds one):\n  %s" % (TAG, "\n  ".join(missing)))
        return 1
    print("spdx: %d file(s) %s" % (len(missing), "fixed" if "--fix" in argv else "missing"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
