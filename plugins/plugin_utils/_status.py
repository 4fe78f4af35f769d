# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# For internal use by the opsmodes.maintenance collection only: not a public API, it may change in any release.
"""Status, for one host: each service's live mode beside its record, writing nothing; failed on
windows nobody closed and on servers in maintenance that no window explains."""

from __future__ import annotations

from ansible_collections.opsmodes.maintenance.plugins.plugin_utils import _record as record
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._messages import report as messages
from ansible_collections.opsmodes.maintenance.plugins.plugin_utils._phase import Phase


class Status(Phase):
    name = "status"

    def request(self):
        if not self.settings.targets:
            return self.no_service()
        records = self.journal.read()
        live = self.read_modes(self.settings.targets)
        entries = {target.name: self.journal.chosen(records, target) for target in self.settings.targets}
        outcome = {"changed": False, "report": [], "rows": [], "state_file": self.journal.location,
                   "record": {name: entry for name, entry in entries.items() if entry},
                   "failed": any(outcome.get("failed") for outcome in live.values())}
        for target in self.settings.targets:
            line, agreement = messages.status_line(target, entries[target.name], live[target.name], self.host)
            outcome["report"].append(line)
            outcome["rows"].append(self.row(target.name, entries[target.name],
                                            live[target.name].get("previous_mode"), agreement))
        outcome.update(self.windows_nobody_closed(entries, live))
        alarms = messages.status_alarms(self.host, {name: entries[name] for name in outcome["overdue"]},
                                        outcome["unexplained"], outcome["strangers"], self.journal.location)
        if alarms:
            outcome.update(failed=True, msg=alarms)
        return outcome

    def windows_nobody_closed(self, entries, live):
        """Open entries past their deadline, servers in maintenance that no open entry explains,
        and (on the play's first host) open entries that no host of the inventory holds."""
        now = record.utc_now()
        return {"overdue": sorted(name for name, entry in entries.items() if record.overdue(entry, now)),
                "unexplained": [target.name for target in self.settings.targets if record.unexplained_maintenance(
                    entries[target.name], live[target.name].get("previous_mode"), target.maintenance_mode)],
                "strangers": self.journal.strangers()}
