# Sets the sysctls of host_base in one command per host (run by tasks/kernel.yml with the host's python3):
# writes each sysctl.d file with its keys ("key=value" lines, in the order given, as ansible.posix.sysctl
# writes them) and sets every running value that differs. A group whose `when_path` does not exist is
# left out (the bridge netfilter sysctls where br_netfilter is absent). With --check nothing is written.
# Prints {"changed": [...]}: the files and keys it changed (or would).
import json
import os
import sys
import tempfile

check = "--check" in sys.argv[1:]
groups = json.loads(sys.argv[-1])
files, changed, errors = {}, [], []
for group in groups:
    if not group["sysctls"] or (group.get("when_path") and not os.path.exists(group["when_path"])):
        continue
    files.setdefault(group["file"], []).extend((str(k), str(v)) for k, v in group["sysctls"])
for path, values in files.items():
    want = "".join("%s=%s\n" % kv for kv in values)
    try:
        with open(path) as f:
            have = f.read()
    except FileNotFoundError:
        have = None
    if have != want:
        changed.append(path)
        if not check:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".kos-")
            with os.fdopen(fd, "w") as f:
                f.write(want)
            os.chmod(tmp, 0o644)
            os.rename(tmp, path)
    for key, value in values:
        proc = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(proc) as f:
                running = f.read().split()
            if running != value.split():
                changed.append(key)
                if not check:
                    with open(proc, "w") as f:
                        f.write(value)
        except OSError as exc:  # every key that cannot be read or set, named at once
            errors.append("%s: %s (%s)" % (key, exc.strerror or exc, proc))
if errors:
    sys.stderr.write("cannot set these sysctls: " + "; ".join(errors) + "\n")
    sys.exit(1)
print(json.dumps({"changed": changed}))
