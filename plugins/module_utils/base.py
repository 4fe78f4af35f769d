# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every mode module shares: the option specs merged into its own, the HTTP session, and
the shape of its result and of its failures."""

from __future__ import annotations

import time

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.opsmodes.maintenance.plugins.module_utils.transport import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    HttpSession,
    transient,
)


def shared_argument_spec(env_prefix, wait_timeout):
    """The options documented by the `opsmodes.maintenance.connection` doc fragment, plus
    `wait` and `wait_timeout`, whose default differs per API."""
    return dict(
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, [env_prefix + "_VALIDATE_CERTS"])),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=30),
        retries=dict(type="int", default=3),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="float", default=wait_timeout),
    )


class MaintenanceModule(AnsibleModule):
    """An AnsibleModule with the collection's shared options merged into `argument_spec`.

    `env_prefix` names the environment variables of the module's API (`UCS`, `ARCGIS`).
    """

    def __init__(self, argument_spec, env_prefix, wait_timeout, **kwargs):
        spec = shared_argument_spec(env_prefix, wait_timeout)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, supports_check_mode=True, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        for option in ("timeout", "wait_timeout"):
            if self.params[option] <= 0:
                self.fail_json(msg="%s must be a positive number of seconds, got %s" % (option, self.params[option]))
        if self.params["retries"] < 0:
            self.fail_json(msg="retries must be zero or more, got %s" % self.params["retries"])

    def http_session(self):
        # The session shares the module's set of no_log values: a secret learnt at run time
        # (a generated token) is then masked in excerpts and in the module's results alike.
        return HttpSession(
            validate_certs=self.params["validate_certs"],
            ca_path=self.params["ca_path"],
            timeout=self.params["timeout"],
            retries=self.params["retries"],
            secrets=self.no_log_values,
        )

    def deadline(self):
        return time.monotonic() + self.params["wait_timeout"]


def diff(before, after):
    return {"before": before, "after": after}


def fail_before_write(module, error, read_mode):
    """Fail before anything was written. After a server-side error (5xx, an answer that is not
    JSON) one more read may still name the mode; after a refused login it is not tried, since
    repeated failed logins can lock an account, nor after a connection failure or a timeout."""
    if transient(error) and error.reason not in ("timeout", "connection"):
        try:
            mode = read_mode()
        except ApiError:
            module.fail_json(msg="%s. Nothing was changed; its mode could not be read." % sentence(error), mode=None)
        module.fail_json(msg="%s. Nothing was changed; the server is in mode %s." % (sentence(error), mode), mode=mode)
    module.fail_json(msg="%s. Nothing was changed." % sentence(error), mode=None)


def fail_with_mode(module, error, read_mode, previous_mode, **result):
    """Fail after a write was attempted, saying which mode the server is in now: that is what
    the operator needs to decide the next step."""
    try:
        mode = read_mode()
    except ApiError as exc:
        module.fail_json(msg="%s. The mode could not be read afterwards, so it may have changed: %s" % (sentence(error), exc),
                         changed=True, mode=None, previous_mode=previous_mode, **result)
    module.fail_json(msg="%s. The server is in mode %s." % (sentence(error), mode),
                     changed=mode != previous_mode, mode=mode, previous_mode=previous_mode, **result)


def sentence(error):
    """The error's text without a final full stop, to be followed by one of ours: servers end their
    messages with one or not."""
    return str(error).rstrip(". ")
