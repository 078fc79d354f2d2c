#!/usr/bin/env python3
"""Writes the summary of a sanitized test run (scripts/sanitize/run.sh) as JSON.

Everything in it is read from the run: the commit and the compiler, the sanitizer flags of the
compile commands, the ctest JUnit files (tests run and failed), the sanitizer fixes in the history
(commits whose subject starts with "ASan:", "UBSan:" or "LSan:"), the suppressions files with the
comment above each entry, and the sanitizer options in the environment.
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=True).stdout.strip()


def compile_flags(build):
    """The sanitizer flags and the compiler of the first vdlab compile command."""
    with open(os.path.join(build, "compile_commands.json")) as f:
        command = json.load(f)[0]
    words = shlex.split(command["command"])
    compiler = next(w for w in words if not w.endswith("ccache"))
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
    sanitizers = sorted({s for w in words if w.startswith("-fsanitize=") for s in w.split("=", 1)[1].split(",")})
    flags = [w for w in words if w.startswith(("-fsanitize", "-fno-sanitize", "-fno-omit-frame-pointer", "-O", "-g"))]
    return version.splitlines()[0], sanitizers, flags


def junit_counts(path):
    """(tests run, names of the failed tests) of one ctest --output-junit file."""
    if not os.path.exists(path):  # ctest stopped before running anything
        return 0, []
    run, failed = 0, []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.get("status") in ("notrun", "disabled") or case.find("skipped") is not None:
            continue
        run += 1
        if case.get("status") == "fail" or case.find("failure") is not None:
            failed.append(case.get("name"))
    return run, failed


def suppressions():
    """Every entry of the suppressions files beside this script, with the comment above it."""
    entries = []
    for name in sorted(os.listdir(HERE)):
        if not name.endswith(".supp"):
            continue
        why = []
        for line in open(os.path.join(HERE, name)):
            line = line.strip()
            if line.startswith("#"):
                why.append(line.lstrip("# "))
            elif line:
                entries.append({"file": "scripts/sanitize/" + name, "entry": line, "why": " ".join(why)})
            else:
                why = []
    return entries


def findings_fixed():
    log = git("log", "--format=%h%x09%s", "-E", "--grep=^(ASan|UBSan|LSan): ")
    return [dict(zip(("commit", "what"), line.split("\t", 1))) for line in log.splitlines() if line]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--build-seconds", type=int, required=True)
    ap.add_argument("--build-cpu-seconds", type=int, required=True)
    ap.add_argument("--build-steps", type=int, required=True, help="steps ninja ran (0 if not ninja)")
    ap.add_argument("--test-seconds", type=int, required=True)
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--binaries", required=True, help="the test binaries built, by library")
    ap.add_argument("--label", action="append", default=[], help="what one ctest run selected")
    ap.add_argument("--junit", action="append", default=[], help="that run's JUnit file")
    a = ap.parse_args()

    compiler, sanitizers, flags = compile_flags(a.build)
    runs = []
    for label, path in zip(a.label, a.junit):
        run, failed = junit_counts(path)
        runs.append({"label": label, "tests_run": run, "tests_failed": len(failed), "failed": failed})
    summary = {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "compiler": compiler,
        "sanitizers": sanitizers,
        "flags": flags,
        "labels": a.label,
        "test_binaries": a.binaries.split(),
        "tests_run": sum(r["tests_run"] for r in runs),
        "tests_failed": sum(r["tests_failed"] for r in runs),
        "runs": runs,
        "findings_fixed": findings_fixed(),
        "suppressions": suppressions(),
        "options": {k: os.environ.get(k, "") for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")},
        "build_seconds": a.build_seconds,
        "build_cpu_seconds": a.build_cpu_seconds,
        "build_steps": a.build_steps,
        "test_seconds": a.test_seconds,
        "build_jobs": a.jobs,
        "cores": os.cpu_count(),
        "load_average": [float(x) for x in open("/proc/loadavg").read().split()[:3]],
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    os.replace(tmp, a.out)
    print(f"sanitize: {summary['tests_run']} tests run, {summary['tests_failed']} failed; "
          f"build {a.build_seconds} s, tests {a.test_seconds} s; summary in {a.out}")


if __name__ == "__main__":
    main()
