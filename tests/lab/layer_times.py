"""Time of each layer (play) of an ansible-playbook log written with the profile_tasks callback.

usage: layer_times.py LOG [--top N]

profile_tasks prints, when each task starts, a line ending in the time elapsed since the run
began ("Monday 30 November 2026  07:49:24 +0000 (0:00:00.548)       0:00:01.084 ****"). A layer
lasts from its first task's line to the next layer's first task's line (the run's last line for
the last layer). With --top N, also the N slowest tasks (name and seconds, all hosts together).
"""

import re
import sys

STAMP = re.compile(r"^\w+day \d+ \w+ \d{4}\s+[\d:]+ [+-]\d{4} \(([\d:.]+)\)\s+([\d:.]+) \*+\s*$")
PLAY = re.compile(r"^PLAY \[(.*)\] \**\s*$")
TASK = re.compile(r"^TASK \[(.*)\] \**\s*$")
RESULT = re.compile(r"^(ok|changed|skipping|failed|fatal): \[")
GATE_RECORD = "Layer gate - record the converged layer"
GATE_END = "Layer gate - end the layer when"


def seconds(text):
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def parse(lines):
    """[(play, seconds, note)] in run order, and {task: seconds} (summed over the run).

    note is "unchanged, skipped" for a layer whose gate (kos.platform.layer_state) found every host
    as its last converge left it: the play ended at the gate's end_play (no task after it), or, in
    logs of earlier site.yml versions, its record task was skipped on every host; else "".
    """
    plays, tasks = [], {}
    play, task, start, last, previous = None, None, None, None, None
    gated, ran, ended = False, False, False

    def note():
        return "unchanged, skipped" if ended or (gated and not ran) else ""

    for line in lines:
        m = PLAY.match(line)
        if m:
            if play is not None and start is not None:
                plays.append((play, last - start, note()))
            play, start, gated, ran, ended = m.group(1), None, False, False, False
            continue
        if task is not None and task.endswith(GATE_RECORD) and RESULT.match(line):
            gated = True
            ran = ran or not line.startswith("skipping")
        m = TASK.match(line)
        if m:
            task = m.group(1)
            # A task after the end_play gate means the gate let the layer run.
            ended = GATE_END in task
            continue
        m = STAMP.match(line)
        if m:
            # The line printed when a task starts carries the previous task's duration in brackets.
            if last is not None and previous is not None:
                tasks[previous] = tasks.get(previous, 0.0) + seconds(m.group(1))
            last = seconds(m.group(2))
            if start is None:
                start = last
            previous = task
    if play is not None and start is not None:
        plays.append((play, last - start, note()))
    return plays, tasks


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: layer_times.py LOG [--top N]\n")
        return 2
    with open(argv[1], errors="replace") as f:
        plays, tasks = parse(f.read().splitlines())
    if not plays:
        print("  (no profile_tasks times in %s)" % argv[1])
        return 0
    total = sum(p[1] for p in plays)
    for play, took, why in plays:
        print("  %7.1f s  %s%s" % (took, play, " (%s)" % why if why else ""))
    print("  %7.1f s  total" % total)
    if "--top" in argv:
        top = int(argv[argv.index("--top") + 1])
        print("Slowest tasks (all hosts):")
        for name, took in sorted(tasks.items(), key=lambda kv: -kv[1])[:top]:
            print("  %7.1f s  %s" % (took, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
