"""The Jenkins job definitions (playbooks/images/jenkins/jobs/, Jenkins Job Builder YAML), rendered
offline by the real tool (`jenkins-jobs test`, as OpenStack's own CI validates its jobs), and held
to the Jenkinsfiles they run: one job per Jenkinsfile, the same parameters (names, types,
defaults), the push-hook triggers, and JUnit results published by every pipeline.

The XML element names checked here are the ones Jenkins' plugins read: hudson.triggers.SCMTrigger
(git plugin's notifyCommit hook polls jobs whose SCM trigger has an empty spec),
com.cloudbees.jenkins.GitHubPushTrigger (github plugin), CpsScmFlowDefinition/scriptPath
(workflow-cps: the Jenkinsfile a pipeline job runs)."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
JENKINS = os.path.join(TOP, 'playbooks', 'images', 'jenkins')
JOBS = os.path.join(JENKINS, 'jobs')
WORKFLOW = 'org.jenkinsci.plugins.workflow.job.properties.'


def jenkins_jobs():
    exe = os.path.join(os.path.dirname(sys.executable), 'jenkins-jobs')
    if not os.path.exists(exe):
        exe = shutil.which('jenkins-jobs')
    assert exe, 'jenkins-jobs (jenkins-job-builder, requirements.txt) is not installed: run make setup'
    return exe


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp('jjb')
    conf = out / 'jjb.ini'
    conf.write_text('[job_builder]\nignore_cache=True\n')
    result = subprocess.run([jenkins_jobs(), '--conf', str(conf), 'test', '-r', JOBS, '-o', str(out / 'xml')],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return {name: ET.parse(str(out / 'xml' / name)).getroot() for name in os.listdir(out / 'xml')}


def jenkinsfile_parameters(text):
    """Parameters of a declarative Jenkinsfile: name -> (type, default)."""
    block = re.search(r'parameters \{(.*?)\n  \}', text, re.S)
    assert block, 'no parameters block'
    params = {}
    for kind, args in re.findall(r"(string|booleanParam)\((.*?)\)\n", block.group(1) + "\n"):
        name = re.search(r"name: '([^']*)'", args).group(1)
        default = re.search(r"defaultValue: ('([^']*)'|true|false)", args)
        if kind == 'string':
            params[name] = ('string', default.group(2) if default else '')
        else:
            params[name] = ('bool', (default.group(1) if default else 'false'))
    return params


def job_parameters(root):
    params = {}
    for definition in root.iter():
        tag = definition.tag.rsplit('.', 1)[-1]
        if tag not in ('StringParameterDefinition', 'BooleanParameterDefinition'):
            continue
        name = definition.findtext('name')
        default = definition.findtext('defaultValue') or ''
        params[name] = ('string' if tag.startswith('String') else 'bool', default)
    return params


def script_path(root):
    definition = root.find('definition')
    assert definition is not None and definition.get('class').endswith('CpsScmFlowDefinition'), \
        'not a pipeline job running a Jenkinsfile from SCM'
    return definition.findtext('scriptPath')


def test_every_jenkinsfile_has_exactly_one_job(rendered):
    paths = sorted(script_path(root) for root in rendered.values())
    files = sorted('playbooks/images/jenkins/' + f for f in os.listdir(JENKINS) if f.endswith('.Jenkinsfile'))
    assert paths == files


@pytest.mark.parametrize('job', ['kos-image-container', 'kos-image-vm', 'kos-image-baremetal', 'kos-platform-site'])
def test_job_parameters_are_the_jenkinsfiles(rendered, job):
    root = rendered[job]
    with open(os.path.join(TOP, script_path(root))) as handle:
        text = handle.read()
    assert job_parameters(root) == jenkinsfile_parameters(text)


@pytest.mark.parametrize('job', ['kos-image-container', 'kos-image-vm', 'kos-image-baremetal', 'kos-platform-site'])
def test_jobs_start_on_the_push_hook_and_never_on_a_timer(rendered, job):
    triggers = rendered[job].find('properties/' + WORKFLOW + 'PipelineTriggersJobProperty/triggers')
    assert triggers is not None, 'no triggers'
    kinds = {t.tag: t for t in triggers}
    assert 'com.cloudbees.jenkins.GitHubPushTrigger' in kinds
    scm = kinds['hudson.triggers.SCMTrigger']
    # An empty spec polls only when a hook calls /git/notifyCommit; a cron spec would poll on a timer.
    assert (scm.findtext('spec') or '') == ''
    assert scm.findtext('ignorePostCommitHooks') == 'false'
    with open(os.path.join(TOP, script_path(rendered[job]))) as handle:
        # The Jenkinsfile's own triggers replace the job's on each run: they must say the same.
        assert re.search(r"triggers \{ pollSCM\(''\) \}", handle.read())


@pytest.mark.parametrize('job', ['kos-image-container', 'kos-image-vm', 'kos-image-baremetal', 'kos-platform-site'])
def test_jobs_never_run_concurrently_and_rotate_their_logs(rendered, job):
    properties = rendered[job].find('properties')
    assert properties.find(WORKFLOW + 'DisableConcurrentBuildsJobProperty') is not None
    assert properties.find('jenkins.model.BuildDiscarderProperty') is not None


@pytest.mark.parametrize('name', sorted(f for f in os.listdir(JENKINS) if f.endswith('.Jenkinsfile')))
def test_every_pipeline_publishes_junit_from_a_callback_that_exists(name):
    with open(os.path.join(JENKINS, name)) as handle:
        text = handle.read()
    post = text[text.index('  post {'):]
    publish = re.search(r"junit (?:allowEmptyResults: (\w+), )?testResults: '([^']+)'", post)
    assert publish, 'no junit step in post'
    assert publish.group(1) != 'true', 'allowEmptyResults hides a report that was never written'
    callbacks = re.findall(r"ANSIBLE_CALLBACKS_ENABLED ?= ?'?([\w.,]+)", text)
    assert callbacks, 'no JUnit callback enabled for ansible-playbook'
    report_dir = re.search(r'JUNIT_OUTPUT_DIR ?= ?"\$(?:\{WORKSPACE\}|WORKSPACE)/([\w-]+)"', text)
    assert report_dir and publish.group(2).startswith(report_dir.group(1) + '/'), 'published path is not the report dir'
    for plugin in {c for group in callbacks for c in group.split(',')}:
        ansible_doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
        doc = subprocess.run([ansible_doc, '-t', 'callback', '-j', plugin], capture_output=True, text=True, timeout=120)
        assert doc.returncode == 0 and plugin.rsplit('.', 1)[-1] in doc.stdout, \
            'callback %s named in %s does not exist: %s' % (plugin, name, doc.stderr[-300:])
