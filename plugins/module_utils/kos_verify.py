# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Acceptance checks of a live platform (playbooks/verify_kubernetes.yml): parse what kubectl, dig
and the Keystone token check print, decide, and write the results as JUnit XML for Jenkins.

Every check returns a result ``{"name", "ok", "message", "details"}``; playbooks gather the
command outputs without failing, hand them here, and fail once at the end with every problem.
Inputs are the plain outputs: ``kubectl ... -o json`` (parsed), ``dig`` text, ``kubectl auth
can-i`` answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from xml.sax.saxutils import escape, quoteattr

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
# Pods of a finished Job are Succeeded, which is fine; anything else must be Running and ready.
DONE_PHASES = ("Succeeded",)


def result(name, problems, success, details=None):
    return {"name": name, "ok": not problems, "message": "; ".join(problems) if problems else success,
            "details": details or []}


def nodes_ready(nodes, expected):
    """Every expected node exists and has condition Ready=True (`kubectl get nodes -o json`)."""
    problems = []
    found = {}
    for item in (nodes or {}).get("items", []):
        name = (item.get("metadata") or {}).get("name", "")
        conditions = {c.get("type"): c for c in (item.get("status") or {}).get("conditions", [])}
        found[name] = conditions.get("Ready", {})
    for name in expected:
        if name not in found:
            problems.append("node %s is not registered" % name)
        elif found[name].get("status") != "True":
            ready = found[name]
            problems.append("node %s is not Ready (%s: %s)"
                            % (name, ready.get("reason", "no Ready condition"), ready.get("message", "")))
    return result("every node is Ready", problems, "%d/%d nodes Ready" % (len(expected), len(expected)),
                  sorted(found))


def pods_running(pods, namespace="kube-system"):
    """Every pod of the namespace is Running with every container ready (or Succeeded)."""
    problems = []
    items = (pods or {}).get("items", [])
    for item in items:
        name = (item.get("metadata") or {}).get("name", "")
        status = item.get("status") or {}
        phase = status.get("phase", "Unknown")
        if phase in DONE_PHASES:
            continue
        if phase != "Running":
            problems.append("pod %s/%s is %s" % (namespace, name, phase))
            continue
        for container in status.get("containerStatuses", []):
            if container.get("ready"):
                continue
            waiting = (container.get("state") or {}).get("waiting") or {}
            problems.append("pod %s/%s container %s is not ready%s (restarts %d)" % (
                namespace, name, container.get("name"), ": " + waiting["reason"] if waiting.get("reason") else "",
                container.get("restartCount", 0)))
    if not items:
        problems.append("namespace %s has no pods" % namespace)
    return result("%s pods are Running" % namespace, problems, "%d pods Running in %s" % (len(items), namespace))


_DIG_ANSWER = re.compile(r"^(?P<name>\S+)\s+\d+\s+IN\s+A\s+(?P<ip>\S+)\s*$", re.M)
_DIG_STATUS = re.compile(r"status: (?P<status>[A-Z]+)")


def dns_answers(dig_output, name, expected_ip, server):
    """`dig @server name A` answered NOERROR with expected_ip."""
    text = dig_output or ""
    status = _DIG_STATUS.search(text)
    answers = [m.group("ip") for m in _DIG_ANSWER.finditer(text) if m.group("name").rstrip(".") == name.rstrip(".")]
    problems = []
    if status is None:
        problems.append("no answer from the DNS server %s for %s (timed out or unreachable)" % (server, name))
    elif status.group("status") != "NOERROR":
        problems.append("DNS server %s answered %s for %s" % (server, status.group("status"), name))
    elif expected_ip not in answers:
        problems.append("DNS server %s answered %s for %s, expected %s"
                        % (server, answers or "nothing", name, expected_ip))
    return result("DNS %s via %s" % (name, server), problems, "%s -> %s via %s" % (name, expected_ip, server))


def pod_ips(pods, label=("k8s-app", "kube-dns")):
    """Pod IPs of the ready pods with the label (default: CoreDNS's k8s-app=kube-dns)."""
    ips = []
    for item in (pods or {}).get("items", []):
        labels = (item.get("metadata") or {}).get("labels") or {}
        status = item.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", []))
        if labels.get(label[0]) == label[1] and ready and status.get("podIP"):
            ips.append(status["podIP"])
    return ips


def default_storage_class(classes):
    """Name of the default StorageClass ('' when none)."""
    for item in (classes or {}).get("items", []):
        metadata = item.get("metadata") or {}
        if (metadata.get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
            return metadata.get("name", "")
    return ""


def pvc_bound(pvc, classes):
    """The test PVC is Bound, on the default StorageClass (`kubectl get pvc NAME -o json`)."""
    problems = []
    default = default_storage_class(classes)
    if not default:
        problems.append("no default StorageClass (annotation %s=\"true\")" % DEFAULT_CLASS_ANNOTATION)
    pvc = pvc or {}
    name = (pvc.get("metadata") or {}).get("name", "?")
    phase = (pvc.get("status") or {}).get("phase", "missing")
    if phase != "Bound":
        problems.append("PVC %s is %s, not Bound" % (name, phase))
    used = (pvc.get("spec") or {}).get("storageClassName")
    if default and used and used != default:
        problems.append("PVC %s uses StorageClass %s, not the default %s" % (name, used, default))
    return result("a PVC on the default StorageClass binds", problems,
                  "PVC %s Bound on %s (volume %s)" % (name, default, (pvc.get("spec") or {}).get("volumeName", "")))


def reachable(name, rc, output, target):
    """A reachability probe (ping, dig over TCP, curl) from a router: rc 0 is reachable."""
    problems = [] if rc == 0 else ["%s is not reachable: %s" % (target, (output or "").strip()[-200:])]
    return result(name, problems, "%s reachable" % target)


def whoami(review, username):
    """`kubectl auth whoami -o json` (SelfSubjectReview) names the Keystone user."""
    user = ((review or {}).get("status") or {}).get("userInfo") or {}
    problems = []
    if not user:
        problems.append("the token of %s did not authenticate (no SelfSubjectReview)" % username)
    elif user.get("username") != username:
        problems.append("the token authenticated as %r, not %r" % (user.get("username"), username))
    return result("Keystone token of %s authenticates" % username, problems,
                  "authenticated as %s (groups %s)" % (username, ", ".join(user.get("groups", []))))


def can_i(answers, username, own_namespace):
    """`kubectl auth can-i` answers: exactly the user's namespace rights, nothing elsewhere.

    answers: [{"verb", "resource", "namespace" ("" for cluster scope), "answer" (stdout), "expected"
    (bool)}]; an answer is "yes" or "no" (possibly followed by a reason).
    """
    problems = []
    for item in answers:
        said = (item.get("answer") or "").strip().split()
        allowed = bool(said) and said[0] == "yes"
        if not said or said[0] not in ("yes", "no"):
            problems.append("can-i %s %s in %s gave %r"
                            % (item["verb"], item["resource"], item["namespace"] or "the cluster", item.get("answer")))
        elif allowed != item["expected"]:
            problems.append("%s %s %s %s in %s" % (username, "may" if allowed else "may not", item["verb"],
                                                   item["resource"], item["namespace"] or "the cluster scope"))
    return result("%s has exactly the rights of namespace %s" % (username, own_namespace), problems,
                  "%d can-i answers as expected" % len(answers))


def junit(results, suite="kos.platform verify"):
    """JUnit XML (one testsuite, one testcase per result) as Jenkins' junit step reads it."""
    failures = [r for r in results if not r["ok"]]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<testsuites>",
             '  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="0">'
             % (quoteattr(suite), len(results), len(failures))]
    for item in results:
        classname = quoteattr(item.get("classname", "kos.verify"))
        lines.append('    <testcase classname=%s name=%s>' % (classname, quoteattr(item["name"])))
        if item["ok"]:
            lines.append("      <system-out>%s</system-out>" % escape(item["message"]))
        else:
            lines.append('      <failure message=%s>%s</failure>' % (quoteattr(item["message"]),
                                                                     escape("\n".join(item.get("details") or []))))
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines)
