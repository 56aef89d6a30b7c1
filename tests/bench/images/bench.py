"""Images benchmark: an unchanged run (the input key finds the artifact: nothing is built or sent)
against a real build (an input changed), for the container and the bare-metal pipelines.
The container pipeline's unchanged run is what its Jenkins job runs: the pre-check
(kos_images_cli container-unchanged), which finds the image and ends the job without ansible-playbook;
the benchmark fails if the pre-check asks for the playbook right after a real build of the same inputs.

Usage: bench.py --state DIR --art HOST:PORT --hub HOST:PORT --generic URL [--only container|baremetal].
Prints wall-clock times and unchanged/real ratios, measured in this run (never asserted); the
project's target is a ratio of at most 0.1. The bare-metal real build uses diskimage-builder's
caches in <checkout>/.cache/dib (debootstrap tarball, apt archives), as the pipeline does on an agent.
The container service is built on a Debian base and installs its packages from Debian's mirror; its
first build rebuilds that layer (new dependencies), the next two change only its code (layer cache warm).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def playbook(path, variables):
    start = time.monotonic()
    proc = subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local', os.path.join(TOP, path),
                           '-e', json.dumps(dict(variables, ansible_python_interpreter=sys.executable))],
                          cwd=TOP, capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit('%s failed:\n%s\n%s' % (path, proc.stdout[-4000:], proc.stderr[-2000:]))
    return took


def precheck(variables):
    """The container job's pre-check with the playbook's inputs: its wall-clock time; exits unless it
    answers 0 (nothing to do), since it runs right after a real build of these inputs."""
    argv = [sys.executable, '-m', 'ansible_collections.kos.platform.plugins.module_utils.kos_images_cli',
            'container-unchanged', '--context', variables['container_image_context'],
            '--name', variables['container_image_name'], '--tag', variables['container_image_tag'],
            '--registry', variables['container_image_registry'],
            '--upstream-registry', variables['container_image_upstream_registry'],
            '--labels-json', json.dumps(variables['container_image_labels']),
            '--build-args-json', json.dumps(variables['container_image_build_args'])]
    for registry in variables['container_image_insecure_registries']:
        argv += ['--insecure-registry', registry]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=TOP, capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=os.path.join(TOP, '.collections')))
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit('the pre-check answered %d right after a real build of the same inputs (it must answer 0, '
                 'nothing to do):\n%s%s' % (proc.returncode, proc.stdout, proc.stderr))
    return took


def debian_base(args):
    """A Debian bookworm minbase root file system as a tarball (made once with debootstrap, kept in the
    benchmark's state directory): the service's base image, as Artifactory's Docker repository holds one."""
    tarball = os.path.join(args.state, 'debian-bookworm-minbase.tar')
    if not os.path.exists(tarball):
        root = os.path.join(args.state, 'debian-rootfs')
        subprocess.run(['rm', '-rf', root], check=True)
        subprocess.run(['debootstrap', '--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'],
                       check=True, capture_output=True)
        subprocess.run(['tar', '-C', root, '-cf', tarball + '.part', '.'], check=True)
        os.rename(tarball + '.part', tarball)
        subprocess.run(['rm', '-rf', root], check=True)
    return tarball


# A service as a team would build it: its runtime packages from Debian's mirror, then its code and data.
# KOS_DEPS_EPOCH stands for the service's dependency list: changing it rebuilds the package layer (a build
# on a cold layer cache); otherwise Docker's layer cache keeps that layer and only the code is rebuilt.
DOCKERFILE = """FROM kos-bench/debian:bookworm
ARG KOS_DEPS_EPOCH
RUN echo "dependencies $KOS_DEPS_EPOCH" > /etc/kos-deps && apt-get update -qq \\
    && apt-get install -y -qq --no-install-recommends python3 python3-yaml python3-requests >/dev/null \\
    && rm -rf /var/lib/apt/lists/*
COPY app.py payload /srv/
RUN python3 -m py_compile /srv/app.py && sha256sum /srv/payload > /srv/payload.sum
CMD ["python3", "/srv/app.py"]
"""


def container(args):
    """[(case, real build s, unchanged run s)]: a build whose dependencies changed (the package layer is
    rebuilt), then builds where only the code changed (Docker's layer cache keeps the package layer)."""
    ctx = os.path.join(args.state, 'container-ctx')
    os.makedirs(ctx, exist_ok=True)
    base = '%s/kos-bench/debian:bookworm' % args.art
    with open(debian_base(args), 'rb') as tar:
        subprocess.run(['docker', 'import', '-', base], stdin=tar, check=True, capture_output=True)
    subprocess.run(['docker', 'push', base], check=True, capture_output=True)
    with open(os.path.join(ctx, 'Dockerfile'), 'w') as fh:
        fh.write(DOCKERFILE)
    variables = dict(container_image_context=ctx, container_image_name='kos-bench/service',
                     container_image_registry=args.art, container_image_upstream_registry=args.hub,
                     container_image_insecure_registries=[args.art, args.hub])
    epoch = str(time.time())  # new dependencies in this benchmark run: the first build has no layer cache
    times = []
    for run, case in enumerate(('dependencies changed', 'code changed', 'code changed')):
        # the service's code and build output (128 MiB) change with every real build
        with open(os.path.join(ctx, 'app.py'), 'w') as fh:
            fh.write('import yaml, requests\nprint(open("/srv/payload.sum").read())  # build %d of %s\n' % (run, epoch))
        with open(os.path.join(ctx, 'payload'), 'wb') as fh:
            fh.write(os.urandom(128 << 20))
        # the labels the Jenkins job gives both the pre-check and the playbook (the role's default)
        build = dict(variables, container_image_tag='r%d' % run, container_image_build_args={'KOS_DEPS_EPOCH': epoch},
                     container_image_labels={'org.opencontainers.image.version': 'r%d' % run})
        real = playbook('playbooks/images/container.yml', build)
        same = precheck(build)
        times.append((case, real, same))
    return times


def baremetal(args):
    elements = os.path.join(args.state, 'elements', 'kos-bench-node')
    os.makedirs(os.path.join(elements, 'install.d'), exist_ok=True)
    with open(os.path.join(elements, 'element-deps'), 'w') as fh:
        fh.write('debian-minimal\n')
    script = os.path.join(elements, 'install.d', '50-kos-bench')
    with open(script, 'w') as fh:
        fh.write('#!/bin/bash\necho "kos bench image" > /etc/kos-bench\n')
    os.chmod(script, 0o755)
    variables = dict(
        dib_image_service='kos-bench', dib_image_version='1', dib_image_elements=['kos-bench-node'],
        dib_image_elements_path=[os.path.dirname(elements)], dib_image_cache_dir=os.path.join(TOP, '.cache', 'dib'),
        dib_image_work_dir=os.path.join(args.state, 'dib-work'), dib_image_stages=['render', 'build', 'upload'],
        dib_image_artifactory_url=args.generic, dib_image_artifactory_username='kos',
        dib_image_artifactory_password='kos-bench-secret')
    env = {'DIB_RELEASE': 'bookworm', 'DIB_DEBIAN_SECURITY_MIRROR': 'http://deb.debian.org/debian-security',
           'DIB_DEBOOTSTRAP_CACHE': '1', 'DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE': '1',
           'DIB_KOS_BENCH_RUN': str(time.time())}  # an input change: the real build runs
    # warm diskimage-builder's caches first (a fresh machine has none; an agent has them)
    if not os.path.exists(os.path.join(TOP, '.cache', 'dib', 'debootstrap-debian-bookworm-amd64.tar.gz')):
        playbook('playbooks/images/baremetal.yml', dict(variables, dib_image_env=dict(env, DIB_KOS_BENCH_RUN='warm')))
    real = playbook('playbooks/images/baremetal.yml', dict(variables, dib_image_env=env))
    same = playbook('playbooks/images/baremetal.yml', dict(variables, dib_image_env=env))
    return [('a build input changed', real, same)]


def main():
    parser = argparse.ArgumentParser()
    for opt in ('--state', '--art', '--hub', '--generic'):
        parser.add_argument(opt, required=True)
    parser.add_argument('--only', choices=['container', 'baremetal'])
    args = parser.parse_args()
    results = {}
    if args.only in (None, 'container'):
        results['container'] = container(args)
    if args.only in (None, 'baremetal'):
        results['bare-metal'] = baremetal(args)
    print('pipeline     real build (what changed)        real s   unchanged run s   ratio (target <= 0.1)')
    for name, runs in results.items():
        for case, real, same in runs:
            print('%-12s %-30s %8.1f   %15.1f   %.3f' % (name, case, real, same, same / real))


if __name__ == '__main__':
    main()
