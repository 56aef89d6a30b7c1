"""Images benchmark: an unchanged run (the input key finds the artifact: nothing is built or sent)
against a real build (an input changed), for the container and the bare-metal pipelines.

Usage: bench.py --state DIR --art HOST:PORT --hub HOST:PORT --generic URL [--only container|baremetal].
Prints wall-clock times and unchanged/real ratios, measured in this run (never asserted); the
project's target is a ratio of at most 0.1. The bare-metal real build uses diskimage-builder's
caches in <checkout>/.cache/dib (debootstrap tarball, apt archives), as the pipeline does on an agent.
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


def container(args):
    ctx = os.path.join(args.state, 'container-ctx')
    os.makedirs(ctx, exist_ok=True)
    rootfs = os.path.join(args.state, 'rootfs')
    os.makedirs(os.path.join(rootfs, 'bin'), exist_ok=True)
    subprocess.run(['cp', '/bin/busybox', os.path.join(rootfs, 'bin', 'busybox')], check=True)
    for applet in ('sh', 'sha256sum', 'cat'):
        link = os.path.join(rootfs, 'bin', applet)
        if not os.path.lexists(link):
            os.symlink('busybox', link)
    tar = subprocess.Popen(['tar', '-C', rootfs, '-c', '.'], stdout=subprocess.PIPE)
    subprocess.run(['docker', 'import', '-', '%s/kos-bench/base:1' % args.art], stdin=tar.stdout, check=True,
                   capture_output=True)
    tar.wait()
    subprocess.run(['docker', 'push', '%s/kos-bench/base:1' % args.art], check=True, capture_output=True)
    with open(os.path.join(ctx, 'Dockerfile'), 'w') as fh:
        fh.write('FROM kos-bench/base:1\nCOPY payload /srv/payload\nRUN sha256sum /srv/payload > /srv/payload.sum\n'
                 'CMD ["/bin/cat", "/srv/payload.sum"]\n')
    variables = dict(container_image_context=ctx, container_image_name='kos-bench/service',
                     container_image_registry=args.art, container_image_upstream_registry=args.hub,
                     container_image_insecure_registries=[args.art, args.hub])
    times = []
    for run in range(2):
        # a service's build output: 128 MiB that changes with every real build
        with open(os.path.join(ctx, 'payload'), 'wb') as fh:
            fh.write(os.urandom(128 << 20))
        real = playbook('playbooks/images/container.yml', dict(variables, container_image_tag='r%d' % run))
        same = playbook('playbooks/images/container.yml', dict(variables, container_image_tag='r%d' % run))
        times.append((real, same))
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
    return [(real, same)]


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
    print('pipeline     real build s   unchanged run s   ratio (target <= 0.1)')
    for name, runs in results.items():
        for real, same in runs:
            print('%-12s %12.1f   %15.1f   %.3f' % (name, real, same, same / real))


if __name__ == '__main__':
    main()
