# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`check_docs.py ANSIBLE_DOC COLLECTION_DIR`: every module, filter and role of the collection in
COLLECTION_DIR renders with ANSIBLE_DOC, from wherever ANSIBLE_COLLECTIONS_PATH points.

ansible-doc exits 0 when it does not find a plugin (it only warns), so its JSON is read instead:
each plugin must be in it, with its documentation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PREFIX = "opsmodes.maintenance."


def names(directory, suffix=".py"):
    if not os.path.isdir(directory):
        return []
    return sorted(PREFIX + name[:-len(suffix)] for name in os.listdir(directory)
                  if name.endswith(suffix) and not name.startswith("_"))


def main(ansible_doc, collection):
    wanted = {
        "module": names(os.path.join(collection, "plugins", "modules")),
        "filter": names(os.path.join(collection, "plugins", "filter")),
        "role": sorted(PREFIX + name for name in os.listdir(os.path.join(collection, "roles"))),
    }
    missing = []
    for kind, plugins in wanted.items():
        if not plugins:
            continue
        completed = subprocess.run([ansible_doc, "--json", "-t", kind] + plugins,
                                   capture_output=True, text=True, check=False)
        try:
            rendered = json.loads(completed.stdout or "{}")
        except ValueError:
            rendered = {}
        for plugin in plugins:
            entry = rendered.get(plugin) or {}
            if not (entry.get("doc") or entry.get("entry_points")):
                missing.append("%s %s" % (kind, plugin))
            else:
                print("ansible-doc: %s %s renders" % (kind, plugin))
        if completed.returncode != 0:
            missing.append("%s: ansible-doc exited %d: %s"
                           % (kind, completed.returncode, completed.stderr.strip()[-500:]))
    if missing:
        print("ansible-doc did not render:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
