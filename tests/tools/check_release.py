# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tarball's version against the changelog, for `make package`: a tarball of a released
version holds that release's changelog and no changelog fragment that is not in it; one with
fragments not yet released must carry a later version than the last release."""

from __future__ import annotations

import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def version_of(text):
    return tuple(int(part) for part in text.split("-")[0].split("."))


def main(tarball_contents):
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as stream:
        version = yaml.safe_load(stream)["version"]
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml"), encoding="utf-8") as stream:
        released = sorted(yaml.safe_load(stream)["releases"], key=version_of)
    with open(tarball_contents, encoding="utf-8") as stream:
        fragments = [line.strip() for line in stream
                     if line.startswith("changelogs/fragments/") and line.strip().endswith((".yml", ".yaml"))]
    if fragments and version_of(version) <= version_of(released[-1]):
        sys.exit("galaxy.yml says %s, the last release, but the tarball carries changelog fragments not released "
                 "in it: %s. Release them (antsibull-changelog release) or raise the version." % (
                     version, ", ".join(fragments)))
    if not fragments and version != released[-1]:
        sys.exit("galaxy.yml says %s, but the changelog's last release is %s" % (version, released[-1]))
    print("release: the tarball is %s%s" % (version, ", with unreleased changes" if fragments else ""))


if __name__ == "__main__":
    main(sys.argv[1])
