# -*- coding: utf-8 -*-
# Copyright (c) opsmodes.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX/AAP integration: credential types, a workflow run the way AWX runs jobs, and the
execution environment's requirements."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import ansible_runner
import jinja2
import jinja2.sandbox
import pytest
import yaml


COLLECTION = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AWX = os.path.join(COLLECTION, "extensions", "awx")


class _Tower:
    """The `tower` namespace AWX gives injector templates: `tower.filename.<name>` is the path of
    the file written from `template.<name>`."""

    def __init__(self, filenames):
        self.filename = filenames


def injected(credential_type, files_dir, **inputs):
    """(environment, extra variables) AWX gives a job from a credential of this type, rendered as
    AWX renders them (awx.main.models.credential.CredentialType.inject_credential): in an immutable
    Jinja2 sandbox, a boolean the credential never stored as False, a string it never stored as ''
    (the fields' defaults only prefill the UI form: a credential made through the API never gets
    them). File injectors are written under files_dir first, as AWX writes each one, empty or not,
    their paths offered as `tower.filename.<name>`."""
    with open(os.path.join(AWX, "credential_types", credential_type + ".yml"), encoding="utf-8") as stream:
        definition = yaml.safe_load(stream)
    fields = {field["id"]: False if field.get("type") == "boolean" else "" for field in definition["inputs"]["fields"]}
    fields.update(inputs)
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment()
    filenames = {}
    for key, template in definition["injectors"].get("file", {}).items():
        name = key.split(".", 1)[1]
        path = os.path.join(str(files_dir), name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(sandbox.from_string(template).render(**fields))
        filenames[name] = path
    namespace = dict(fields, tower=_Tower(filenames))
    return tuple({name: sandbox.from_string(template).render(**namespace)
                  for name, template in definition["injectors"].get(kind, {}).items()}
                 for kind in ("env", "extra_vars"))


def injected_environment(credential_type, files_dir, **inputs):
    return injected(credential_type, files_dir, **inputs)[0]


def without(environment, name):
    return {k: v for k, v in environment.items() if k != name}


def test_ucs_credential_type_sets_what_the_module_reads(ucs_server, run_module, tmp_path):
    ucs = ucs_server(tls=True, username="awx", password="Awx-Secret1", switch_seconds=0.2)
    environment = injected_environment("ucs", tmp_path, url=ucs.url, username="awx", password="Awx-Secret1",
                                       skip_tls_verify=True)
    assert set(environment) == {"UCS_URL", "UCS_USERNAME", "UCS_PASSWORD", "UCS_VALIDATE_CERTS", "UCS_CA_PATH"}
    assert environment["UCS_VALIDATE_CERTS"] == "false" and environment["UCS_CA_PATH"] == ""
    run = run_module("ucs_server_mode", {"mode": "maintenance"}, env=environment)
    assert run.result["changed"] is True, run.output
    # Each variable is read: without it the same run fails.
    for name, message in (("UCS_URL", "missing required arguments: url"), ("UCS_PASSWORD", "required together"),
                          ("UCS_VALIDATE_CERTS", "certificate verification failed")):
        assert message in run_module("ucs_server_mode", {"mode": "production"}, env=without(environment, name)).msg
    assert ucs.state()["mode"] == "maintenance"


def test_ucs_credential_type_empty_inputs_count_as_not_given(ucs_server, run_module, tmp_path):
    ucs = ucs_server(switch_seconds=0.2)
    environment = injected_environment("ucs", tmp_path, url=ucs.url)
    assert environment["UCS_USERNAME"] == "" and environment["UCS_PASSWORD"] == ""
    run = run_module("ucs_server_mode", {"mode": "maintenance"}, env=environment)
    assert run.result["changed"] is True, run.output
    assert not any("authorization" in entry["headers"] for entry in ucs.requests)


def test_arcgis_credential_type_with_username_and_password(arcgis_server, run_module, tmp_path):
    site = arcgis_server(tls=True, username="gisadmin", password="Gis-Secret2", read_only_seconds=0.2)
    environment = injected_environment("arcgis", tmp_path, url=site.url, username="gisadmin", password="Gis-Secret2",
                                       skip_tls_verify=True)
    assert set(environment) == {"ARCGIS_ADMIN_URL", "ARCGIS_USERNAME", "ARCGIS_PASSWORD", "ARCGIS_TOKEN",
                                "ARCGIS_TOKEN_URL", "ARCGIS_REFERER", "ARCGIS_VALIDATE_CERTS", "ARCGIS_CA_PATH"}
    run = run_module("arcgis_site_mode", {"mode": "read_only"}, env=environment)
    assert run.result["changed"] is True, run.output
    for name, message in (("ARCGIS_ADMIN_URL", "missing required arguments: url"),
                          ("ARCGIS_PASSWORD", "Authentication needed"),
                          ("ARCGIS_VALIDATE_CERTS", "certificate verification failed")):
        assert message in run_module("arcgis_site_mode", {"mode": "editable"}, env=without(environment, name)).msg


def test_arcgis_credential_type_with_a_token(arcgis_server, run_module, tmp_path):
    site = arcgis_server(read_only_seconds=0.2)
    environment = injected_environment("arcgis", tmp_path, url=site.url, token=site.issue_token())
    run = run_module("arcgis_site_mode", {"mode": "read_only"}, env=environment)
    assert run.result["changed"] is True, run.output
    assert not site.requests_to("/generateToken")
    assert "Authentication needed" in run_module("arcgis_site_mode", {"mode": "editable"},
                                                 env=without(environment, "ARCGIS_TOKEN")).msg


EMULATOR_CA = os.path.join(COLLECTION, "tests", "emulators", "certs", "emulator.crt")


@pytest.mark.parametrize("credential_type", ["ucs", "arcgis"])
def test_credential_without_tls_fields_keeps_verification_on(credential_type, ucs_server, arcgis_server, run_module,
                                                             tmp_path):
    """A credential created through the API without the TLS fields: AWX renders the boolean as
    False, which must mean "verify", and injects no CA path."""
    prefix, module, mode, url_var = (("UCS", "ucs_server_mode", "maintenance", "UCS_URL") if credential_type == "ucs"
                                     else ("ARCGIS", "arcgis_site_mode", "read_only", "ARCGIS_ADMIN_URL"))
    server = ucs_server(tls=True) if credential_type == "ucs" else arcgis_server(tls=True)
    # ArcGIS refuses to send anything without credentials: give some, so that TLS is what fails.
    logins = {} if credential_type == "ucs" else {"username": "admin", "password": "admin"}
    environment = injected_environment(credential_type, tmp_path, url=server.url, **logins)
    assert environment[prefix + "_VALIDATE_CERTS"] == "true"
    assert environment[prefix + "_CA_PATH"] == ""
    assert environment[url_var] == server.url
    assert "certificate verification failed" in run_module(module, {"mode": mode}, env=environment).msg


@pytest.mark.parametrize("credential_type", ["ucs", "arcgis"])
def test_credential_ca_certificate_is_written_and_its_path_injected(credential_type, ucs_server, arcgis_server,
                                                                    run_module, tmp_path):
    if credential_type == "ucs":
        prefix, module, mode, wanted = "UCS", "ucs_server_mode", "maintenance", "maintenance"
        server, logins = ucs_server(tls=True, switch_seconds=0.2), {}
    else:
        prefix, module, mode, wanted = "ARCGIS", "arcgis_site_mode", "read_only", "READ_ONLY"
        server, logins = arcgis_server(tls=True, read_only_seconds=0.2), {"username": "admin", "password": "admin"}
    with open(EMULATOR_CA, encoding="utf-8") as stream:
        pem = stream.read()
    environment = injected_environment(credential_type, tmp_path, url=server.url, ca_cert=pem, **logins)
    ca_path = environment[prefix + "_CA_PATH"]
    assert ca_path and os.path.dirname(ca_path) == str(tmp_path)
    with open(ca_path, encoding="utf-8") as stream:
        assert stream.read() == pem
    assert environment[prefix + "_VALIDATE_CERTS"] == "true"
    run = run_module(module, {"mode": mode}, env=environment)
    assert run.result["changed"] is True, run.output
    assert server.state()["mode"] == wanted


def test_arcgis_credential_token_url_and_referer(tmp_path):
    environment = injected_environment("arcgis", tmp_path,
                                       token_url="https://portal.example.com/portal/sharing/rest/generateToken",
                                       referer="https://ops.example.com")
    assert environment["ARCGIS_TOKEN_URL"] == "https://portal.example.com/portal/sharing/rest/generateToken"
    assert environment["ARCGIS_REFERER"] == "https://ops.example.com"
    assert injected_environment("arcgis", tmp_path)["ARCGIS_TOKEN_URL"] == ""


def run_job(private_data_dir, playbook, inventory, extravars=None, fact_storage=None, envvars=None,
            cancel=None, verbosity=None):
    """One AWX job: ansible-runner, the engine AWX runs every job with, in a home of its own as
    each job gets a fresh execution environment: no state file carries over from one to the next.
    With `fact_storage` (a directory standing for AWX's database), the job has fact storage on, as
    AWX runs it: the job's jsonfile fact cache is filled from it first, and what the job wrote
    there is saved back to it afterwards, a cancelled job's too. `envvars` are a credential's;
    `cancel(task_started)` is asked, as AWX's cancel button is, whether to cancel the job, given
    when (monotonic time) each task began by its name."""
    home = private_data_dir / "home"
    home.mkdir()
    cache = private_data_dir / "artifacts" / "job" / "fact_cache"
    if fact_storage is not None:
        shutil.copytree(fact_storage, cache)
    started = {}

    def seen(event):
        if event.get("event") == "playbook_on_task_start":
            started.setdefault(event["event_data"].get("task", ""), time.monotonic())
        return True
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), playbook=playbook, inventory=str(inventory),
                                extravars=extravars or {}, quiet=True, ident="job", fact_cache_type="jsonfile",
                                envvars=dict(envvars or {}, HOME=str(home),
                                             ANSIBLE_COLLECTIONS_PATH=os.environ["ANSIBLE_COLLECTIONS_PATH"]),
                                event_handler=seen, cancel_callback=(lambda: cancel(started)) if cancel else None,
                                verbosity=verbosity)
    if fact_storage is not None:
        for path in cache.iterdir():
            shutil.copy(path, fact_storage / path.name)
    output = runner.stdout.read()
    stats = next((event for event in runner.events if event["event"] == "playbook_on_stats"), {"event_data": {}})
    return runner, output, stats["event_data"].get("artifact_data", {})


def test_awx_workflow_enter_work_exit(ucs_server, arcgis_server, tmp_path):
    app1_ucs = ucs_server(switch_seconds=0.3)
    app1_site = arcgis_server(read_only_seconds=0.3)
    app2_ucs = ucs_server(initial_mode="maintenance")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "window_arcgis_username": "admin", "window_arcgis_password": "admin"},
        "hosts": {"app1": {"window_ucs_url": app1_ucs.url, "window_arcgis_url": app1_site.url},
                  "app2": {"window_ucs_url": app2_ucs.url}}}}))
    # Each job gets its own private data dir, as AWX gives each job its own.
    jobs = {}
    for name in ("enter", "work", "exit"):
        jobs[name] = tmp_path / name
        shutil.copytree(os.path.join(AWX, "project"), jobs[name] / "project")

    runner, output, artifacts = run_job(jobs["enter"], "enter.yml", inventory)
    assert runner.rc == 0, output
    records = artifacts["window_records"]
    assert {host: {s: (e["state"], e["mode_before"]) for s, e in record.items()}
            for host, record in records.items()} == {
        "app1": {"ucs": ("open", "production"), "arcgis": ("open", "editable")},
        "app2": {"ucs": ("open", "maintenance")}}
    assert (app1_ucs.state()["mode"], app1_site.state()["mode"], app2_ucs.state()["mode"]) == (
        "maintenance", "READ_ONLY", "maintenance")

    # AWX passes a node's set_stats artifacts as extra variables to the nodes after it.
    runner, output, _artifacts = run_job(jobs["work"], "work.yml", inventory, extravars=artifacts)
    assert runner.rc == 0, output
    runner, output, closed = run_job(jobs["exit"], "exit.yml", inventory, extravars=artifacts)
    assert runner.rc == 0, output
    assert "no record" not in output
    # Exit publishes the closed record: a later node (a retried exit) has nothing to do.
    assert {e["state"] for record in closed["window_records"].values() for e in record.values()} == {"closed"}
    assert (app1_ucs.state()["mode"], app1_site.state()["mode"], app2_ucs.state()["mode"]) == (
        "production", "EDITABLE", "maintenance")
    assert app2_ucs.state()["switches"] == 0


def test_awx_job_templates_without_a_workflow_keep_the_record_in_fact_storage(ucs_server, arcgis_server, tmp_path):
    """Enter and exit as two job templates (a schedule each, or launched by hand) that share
    nothing but AWX's fact storage: no workflow artifacts, no state file, a fresh home each; then
    an exit that fails, relaunched."""
    app1_ucs = ucs_server(switch_seconds=0.3)
    app1_site = arcgis_server(read_only_seconds=0.3, editable_seconds=0.3)
    app2_ucs = ucs_server(initial_mode="maintenance")

    def inventory(password):
        path = tmp_path / ("inventory-%s.yml" % password)
        path.write_text(yaml.safe_dump({"all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "window_arcgis_username": "admin", "window_arcgis_password": password},
            "hosts": {"app1": {"window_ucs_url": app1_ucs.url, "window_arcgis_url": app1_site.url},
                      "app2": {"window_ucs_url": app2_ucs.url}}}}))
        return path

    def modes():
        return app1_ucs.state()["mode"], app1_site.state()["mode"], app2_ucs.state()["mode"]
    kept = tmp_path / "awx-facts"
    kept.mkdir()
    jobs = {}
    for name in ("enter", "exit-typo", "exit"):
        jobs[name] = tmp_path / name
        shutil.copytree(os.path.join(AWX, "project"), jobs[name] / "project")

    runner, output, _artifacts = run_job(jobs["enter"], "enter.yml", inventory("admin"),
                                         fact_storage=kept)
    assert runner.rc == 0, output
    # One cache file per host (ansible-core names them after the host, with a prefix on newer cores).
    assert sorted(p.name[-4:] for p in kept.iterdir()) == ["app1", "app2"]
    assert modes() == ("maintenance", "READ_ONLY", "maintenance")

    # Sunday morning, a typo in the ArcGIS credential: exit fails, and the record is not lost.
    runner, output, _artifacts = run_job(jobs["exit-typo"], "exit.yml", inventory("typo"),
                                         fact_storage=kept)
    assert runner.rc != 0
    assert "authentication failed" in output and "no record" not in output
    assert app1_site.state()["mode"] == "READ_ONLY"

    # Relaunched with the credential fixed: everything back, though nothing but the facts carried the record.
    runner, output, _artifacts = run_job(jobs["exit"], "exit.yml", inventory("admin"),
                                         fact_storage=kept)
    assert runner.rc == 0, output
    assert "no record" not in output
    assert modes() == ("production", "EDITABLE", "maintenance")
    assert app2_ucs.state()["switches"] == 0
    facts = json.loads(next(kept.glob("*app1")).read_text())
    if "__payload__" in facts:  # ansible-core 2.19 and later wrap what the jsonfile cache keeps
        facts = json.loads(facts["__payload__"])
    assert {e["state"] for e in facts["window_record"].values()} == {"closed"}


def test_exit_without_any_record_names_the_three_ways_a_record_travels(ucs_server, tmp_path):
    ucs = ucs_server(initial_mode="maintenance")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "hosts": {"app1": {"window_ucs_url": ucs.url}}}}))
    job = tmp_path / "exit"
    shutil.copytree(os.path.join(AWX, "project"), job / "project")
    runner, output, _artifacts = run_job(job, "exit.yml", inventory)
    assert runner.rc != 0
    assert "a workflow (set_stats window_records)" in output and "fact storage on both job templates" in output
    assert "a window_state_file on a persistent volume" in output
    assert ucs.state()["mode"] == "maintenance" and ucs.state()["switches"] == 0


def one_host_inventory(tmp_path, ucs, site):
    """An inventory of app1, with a UCS server and an ArcGIS site."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "window_arcgis_username": "admin", "window_arcgis_password": "admin"},
        "hosts": {"app1": {"window_ucs_url": ucs.url, "window_arcgis_url": site.url}}}}))
    return inventory


def test_a_job_cancelled_while_enter_waits_leaves_the_record_in_fact_storage(ucs_server, arcgis_server, tmp_path):
    """Enter publishes the record when it has asked for the switches, before it waits for them: a
    job cancelled (or timed out) during the wait leaves it in AWX's fact storage, and the next
    exit, in a fresh container with no state file, puts everything back."""
    ucs = ucs_server(switch_seconds=4)
    site = arcgis_server(read_only_seconds=4, editable_seconds=0.3)
    inventory = one_host_inventory(tmp_path, ucs, site)
    kept = tmp_path / "awx-facts"
    kept.mkdir()
    jobs = {}
    for name in ("enter", "exit"):
        jobs[name] = tmp_path / name
        shutil.copytree(os.path.join(AWX, "project"), jobs[name] / "project")

    def one_second_into_confirm(started):
        confirm = [when for task, when in started.items() if task.startswith("Enter | Wait until")]
        return bool(confirm) and time.monotonic() > confirm[0] + 1
    runner, output, _artifacts = run_job(jobs["enter"], "enter.yml", inventory, fact_storage=kept,
                                         cancel=one_second_into_confirm)
    assert runner.status == "canceled", output
    assert ucs.state()["switching_to"] == "maintenance" or ucs.state()["mode"] == "maintenance"

    runner, output, _artifacts = run_job(jobs["exit"], "exit.yml", inventory, fact_storage=kept)
    assert runner.rc == 0, output
    assert "no record" not in output
    assert (ucs.state()["mode"], site.state()["mode"]) == ("production", "EDITABLE")


def test_the_record_store_credential_type_keeps_the_record_where_every_job_finds_it(
        ucs_server, arcgis_server, tmp_path, postgresql):
    cluster = postgresql.cluster
    environment, extra_vars = injected("window_state_postgresql", tmp_path, host="127.0.0.1", port=str(cluster.port),
                                       database=postgresql.name, username=cluster.user, password=postgresql.password,
                                       sslmode="disable")
    assert environment == {"PGPASSWORD": postgresql.password}
    assert extra_vars == {"window_state_url": "postgresql://%s@127.0.0.1:%d/%s?sslmode=disable" % (
        cluster.user, cluster.port, postgresql.name)}
    # Unset, the port and the TLS mode take safe defaults; a CA certificate is written and named.
    defaults = injected("window_state_postgresql", tmp_path, host="db.example.com", database="maintenance",
                        username="ops", password="Db-Secret3", ca_cert="PEM")[1]["window_state_url"]
    assert defaults == "postgresql://ops@db.example.com:5432/maintenance?sslmode=verify-full&sslrootcert=%s" % (
        tmp_path / "ca_cert")

    ucs = ucs_server(switch_seconds=0.3)
    site = arcgis_server(read_only_seconds=0.3, editable_seconds=0.3)
    inventory = one_host_inventory(tmp_path, ucs, site)
    for name, mode in (("enter", ("maintenance", "READ_ONLY")), ("exit", ("production", "EDITABLE"))):
        job = tmp_path / name
        shutil.copytree(os.path.join(AWX, "project"), job / "project")
        runner, output, _artifacts = run_job(job, name + ".yml", inventory, extravars=extra_vars,
                                             envvars=environment, verbosity=3)
        assert runner.rc == 0, output
        assert postgresql.password not in output, "the database's password showed at -vvv"
        assert (ucs.state()["mode"], site.state()["mode"]) == mode
        assert not list((job / "home").rglob("*.db")), "a state file was made beside the database"


def test_execution_environment_introspection_lists_requests():
    builder = shutil.which("ansible-builder", path=os.path.dirname(sys.executable))
    assert builder, "ansible-builder is not installed beside this Python (tests/requirements/common.txt)"
    collections_root = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
    completed = subprocess.run([builder, "introspect", "--sanitize", collections_root],
                               capture_output=True, text=True, check=True)
    # ansible-builder prints YAML whose python section lists requirement lines with their source.
    document = yaml.safe_load(completed.stdout)
    lines = document["python"]
    assert any(line.startswith("requests>=2.25.0") and "opsmodes.maintenance" in line
               for line in lines), completed.stdout
