# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run an emulator: `python3 tests/emulators/serve.py ucs --port 0` (see `--help`)."""

import os
import sys

if __name__ == "__main__":
    # Run as a script, the package's parent is put on the path so that the emulators keep
    # their relative imports whatever name they are imported under elsewhere.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from emulators.cli import main  # pylint: disable=import-error

    sys.exit(main())
