"""container_image_build on bad input: fail_json with a clear message, no traceback, no temporary
Docker config left behind. The module runs for real (a subprocess, as Ansible runs it); no docker
engine is needed because every case stops before the first docker call, or names a docker client
that does not exist."""

import json
import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULE = os.path.join(TOP, "plugins", "modules", "container_image_build.py")


def run_module(tmp_path, **args):
    context = tmp_path / "src"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text("FROM debian:bookworm\nRUN true\n")
    params = dict(context=str(context), name="services/billing", tag="1.0", registry="artifactory.example.com",
                  docker_bin=str(tmp_path / "no-such-docker"), push=False)
    params.update(args)
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=os.path.join(TOP, ".collections"))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    leftovers = [p for p in os.listdir(scratch) if p.startswith("kos-docker-")]
    return result, leftovers


BAD = [
    ("registry scheme only", dict(registry="https://"),
     "registry is 'https://', which names no registry: give host[:port] or host/<repository-key>, e.g. "
     "artifactory.example.com/docker-local"),
    ("registry empty", dict(registry=""),
     "registry is '', which names no registry: give host[:port] or host/<repository-key>, e.g. "
     "artifactory.example.com/docker-local"),
    ("registry with spaces", dict(registry="artifactory example com"),
     "registry is 'artifactory example com', which names no registry: give host[:port] or "
     "host/<repository-key>, e.g. artifactory.example.com/docker-local"),
    ("upstream registry scheme only", dict(upstream_registry="http://"),
     "upstream_registry is 'http://', which names no registry: give host[:port] or host/<repository-key>, e.g. "
     "artifactory.example.com/docker-local"),
    ("insecure registry scheme only", dict(insecure_registries=["127.0.0.1:5000", "https://"]),
     "insecure_registries[1] is 'https://', which names no registry: give host[:port] or host/<repository-key>, "
     "e.g. artifactory.example.com/docker-local"),
    ("build arg a list", dict(build_args={"VERSION": ["1", "2"]}),
     "build_args.VERSION is ['1', '2'], not a string: give a single value, e.g. VERSION: \"1.4.2\""),
    ("label a mapping", dict(labels={"team": {"name": "billing"}}),
     "labels.team is {'name': 'billing'}, not a string: give a single value, e.g. team: \"1.4.2\""),
    ("timeout zero", dict(timeout=0), "timeout is 0: give a positive number of seconds"),
    ("context missing", dict(context="/nonexistent/src"),
     "context /nonexistent/src is not a directory: give the checked-out Dockerfile repository"),
    ("tag invalid", dict(tag="1.0 beta", docker_bin="true"), "invalid tag '1.0 beta'"),
    ("docker client missing", dict(), "docker_bin %(tmp)s/no-such-docker is not an executable on this host: "
     "install the docker client or point docker_bin at it"),
]


@pytest.mark.parametrize("label,args,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_cleanly(tmp_path, label, args, message):
    result, leftovers = run_module(tmp_path, **args)
    assert result.get("failed") is True, result
    assert message % {"tmp": tmp_path} in result["msg"], result["msg"]
    assert leftovers == []


def test_every_problem_is_reported_at_once(tmp_path):
    result, leftovers = run_module(tmp_path, registry="https://", build_args={"A": [1]}, timeout=0,
                                   docker_bin="true")
    assert result["problems"] == [
        "registry is 'https://', which names no registry: give host[:port] or host/<repository-key>, e.g. "
        "artifactory.example.com/docker-local",
        "build_args.A is [1], not a string: give a single value, e.g. A: \"1.4.2\"",
        "timeout is 0: give a positive number of seconds"]
    assert leftovers == []


def test_a_registry_given_as_a_url_is_read_as_its_host(tmp_path):
    # https://host/ is accepted (normalized). `false` stands in for a docker client whose pull fails,
    # so the run stops at resolving the base image, cleanly, after the temporary config existed.
    result, leftovers = run_module(tmp_path, registry="https://artifactory.example.com/docker-local/",
                                   docker_bin="false")
    assert result["failed"] and "artifactory.example.com/docker-local" in result["msg"], result
    assert leftovers == []
