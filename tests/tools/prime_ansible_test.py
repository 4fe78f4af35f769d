# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Let `ansible-test --venv` bootstrap pip on a machine that reaches only the package registries.

ansible-test creates its virtual environments without pip and bootstraps pip with a get-pip
script from ci-files.testing.ansible.com, cached as ~/.ansible/test/cache/get_pip_<version>.py.
That host is out of reach here, so this writes the cached script itself: the pip wheel of the
version ansible-test pins, downloaded from PyPI, and a few lines that run `pip install` from
that wheel, as get-pip does from the copy of pip it embeds.

Run it with the Python of the virtual environment that holds the ansible-test to prime.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import ansible_test

CACHE = os.path.expanduser("~/.ansible/test/cache")

BOOTSTRAP = '''# Written by opsmodes.maintenance tests/tools/prime_ansible_test.py in place of get-pip.py:
# runs `pip install` from the pip wheel beside this file. get-pip's own options are dropped.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), {wheel!r}))
from pip._internal.cli.main import main  # noqa: E402

arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + arguments))
'''


def pinned_pip_version():
    source_path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source_path, encoding="utf-8") as source:
        match = re.search(r"def get_venv_packages.*?pip='([0-9.]+)'", source.read(), re.S)
    if not match:
        sys.exit("Could not find the pip version ansible-test pins in %s" % source_path)
    return match.group(1)


def main():
    version = pinned_pip_version()
    script = os.path.join(CACHE, "get_pip_%s.py" % version.replace(".", "_"))
    wheel = "pip-%s-py3-none-any.whl" % version
    if os.path.exists(script) and os.path.exists(os.path.join(CACHE, wheel)):
        return
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--only-binary", ":all:", "--dest", CACHE, "pip==%s" % version], check=True)
    with open(script, "w", encoding="utf-8") as stream:
        stream.write(BOOTSTRAP.format(wheel=wheel))
    print("primed ansible-test's pip %s bootstrap: %s" % (version, script))


if __name__ == "__main__":
    main()
