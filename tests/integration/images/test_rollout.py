"""playbooks/images/rollout.yml: the Deployment a built container image is rolled out with, rendered by
the playbook and validated against Kubernetes' own OpenAPI schemas (kubernetes-validate --strict, the
offline schemas of kubernetes/kubernetes api/openapi-spec shipped with kubernetes-validate 1.37.0).
No Kubernetes API server can run on these machines, so kubernetes.core.k8s is not applied here."""

import subprocess

import yaml
from conftest import run_playbook, task_result

PLAYBOOK = 'playbooks/images/rollout.yml'


def test_rendered_deployment_is_valid_for_every_supported_minor(tmp_path):
    image = '127.0.0.1:15001/services/billing:v1'
    rc, out, raw = run_playbook(PLAYBOOK, dict(rollout_name='billing', rollout_image=image, rollout_apply=False,
                                               rollout_namespace='billing', rollout_env={'MODE': 'prod'},
                                               rollout_manifest_dir=str(tmp_path)))
    assert rc == 0, raw[-3000:]
    path = tmp_path / 'billing-deployment.yaml'
    doc = yaml.safe_load(path.read_text())
    assert doc['apiVersion'] == 'apps/v1' and doc['kind'] == 'Deployment'
    container = doc['spec']['template']['spec']['containers'][0]
    assert container['image'] == image and container['env'] == [{'name': 'MODE', 'value': 'prod'}]
    assert doc['spec']['selector']['matchLabels'].items() <= doc['spec']['template']['metadata']['labels'].items()
    assert doc['spec']['strategy']['rollingUpdate']['maxUnavailable'] == 0
    for minor in ('1.35.0', '1.36.0', '1.37.0'):
        proc = subprocess.run(['kubernetes-validate', '--strict', '-k', minor, str(path)], capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0 and 'passed' in proc.stdout, proc.stdout + proc.stderr
    assert task_result(out, 'Apply the Deployment and wait for the rollout').get('skipped') is True


def test_bad_rollout_request_names_every_problem(tmp_path):
    rc, out, raw = run_playbook(PLAYBOOK, dict(rollout_name='Billing_1', rollout_image='billing', rollout_apply=False,
                                               rollout_namespace='Prod', rollout_manifest_dir=str(tmp_path)))
    assert rc != 0
    msg = task_result(out, 'Check the rollout request (every problem at once)')['msg']
    assert 'rollout_name must be a DNS-1123 label' in msg and 'rollout_image must name a tag or digest' in msg
    assert 'rollout_namespace must be a DNS-1123 label' in msg
    assert not (tmp_path / 'Billing_1-deployment.yaml').exists()
