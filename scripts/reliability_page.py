#!/usr/bin/env python3
"""Writes docs/reliability.md from the figures of the last reliability runs in results/reliability/:
sanitizer.json (scripts/test.sh --sanitize), fuzz.json (scripts/fuzz.sh) and faults.json
(scripts/fault-trials.sh). Every number on the page is read from those files; a missing file is said
to be missing, never filled in. Run by scripts/reliability.sh after the runs, or alone to re-render.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = os.path.join(ROOT, "results", "reliability")


def load(name):
    path = os.path.join(FIGURES, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def thousands(n):
    return f"{n:,}"


def build_cell(s):
    """Wall seconds of the sanitized build, with its CPU seconds and build steps where recorded."""
    extra = [str(s["build_cpu_seconds"])] if s.get("build_cpu_seconds") else []
    if "build_steps" in s:
        extra.append(f"{s['build_steps']} steps")
    return f"{s['build_seconds']}" + (f" ({'; '.join(extra)})" if extra else "")


def sanitizer_section(s):
    lines = ["## Sanitizers: AddressSanitizer and UndefinedBehaviorSanitizer", ""]
    if s is None:
        return lines + ["No sanitized run recorded (`results/reliability/sanitizer.json` is missing).", ""]
    lines += [
        f"`scripts/test.sh --sanitize` builds the test binaries with `{' '.join(s['flags'])}` "
        f"({s['compiler']}) into build-sanitize/ and runs their tests; any sanitizer report fails the test "
        "that met it. CI (`.ci/run`) runs the sanitized unit tests of the libraries that do not include "
        "LibTorch after the full suite.",
        "",
        table(["commit", "date", "test binaries", "selection", "tests run", "failed",
               "build s (CPU s; steps: all of them or an incremental build's)", "tests s"],
              [[s["commit"][:12], s["date"], " ".join(s["test_binaries"]), ", ".join(s["labels"]), s["tests_run"],
                s["tests_failed"], build_cell(s), s["test_seconds"]]]),
        "",
    ]
    all_binaries = {"core", "datasets", "results", "methods", "metrics", "runners"}
    missing = sorted(all_binaries - set(s["test_binaries"]))
    if missing:
        lines += [f"Not yet run sanitized: the tests of {', '.join(missing)} (the libraries that include "
                  "LibTorch; `scripts/test.sh --sanitize` runs them, a full sanitized compile of about half an "
                  "hour on two cores).", ""]
    fixes = s.get("findings_fixed", [])
    lines += [f"Findings fixed: {len(fixes)}" + ("" if not fixes else ": " + "; ".join(
        f"{f['commit']} {f['what']}" for f in fixes)) + ".", ""]
    sup = s.get("suppressions", [])
    lines += [f"Suppressions in force: {len(sup)}."]
    for e in sup:
        lines += [f"- `{e['entry']}` ({e['file']}): {e['why']}"]
    return lines + [""]


def fuzz_section(f):
    lines = ["## Fuzzing: libFuzzer on every reader of untrusted input", ""]
    if f is None:
        return lines + ["No fuzzing run recorded (`results/reliability/fuzz.json` is missing).", ""]
    rows = [[e["target"], e["seconds"], thousands(e["executions"]), f"{e['corpus_files_start']} -> {e['corpus_files_end']}",
             e["coverage"], e["crashes_found"], e["crashes_open"], e.get("regressions", "")] for e in f]
    total_s = sum(e["seconds"] for e in f)
    total_x = sum(e["executions"] for e in f)
    lines += [
        "`scripts/fuzz.sh SECONDS` builds the targets of `fuzz/` with clang (`-fsanitize=fuzzer,address,undefined`) "
        "and runs each for SECONDS; the contract is that any input gets a clear error or a result, never a crash, "
        "a hang or an unbounded allocation. Every crash found is fixed and its input kept under "
        "`fuzz/regressions/<target>/`; the gcc build replays the corpus and the regressions in the "
        "`FuzzReplayTest` tests on every CI run.",
        "",
        table(["target", "seconds", "executions", "corpus files", "coverage", "crashes found", "open", "regression inputs"], rows),
        "",
        f"In all: {total_s} s, {thousands(total_x)} executions, "
        f"{sum(e['crashes_open'] for e in f)} open crashes.",
        "",
        "Known limit: two inputs crash libhdf5 1.10.8 itself (in `H5HG_read`) before vdlab's checks can act; "
        "they are kept in `fuzz/hdf5-library-crashes/`, and the HDF5 targets mutate files through the library "
        "(well-formed files with hostile contents) rather than as raw bytes.",
        "",
    ]
    return lines


def faults_section(d):
    lines = ["## Faults injected: SIGKILL, full disks, read-only folders, corrupt files", ""]
    if d is None:
        return lines + ["No fault-trial run recorded (`results/reliability/faults.json` is missing).", ""]
    keys = ["trials", "kills_landed", "lost_finished", "partial_files", "reruns_completed", "reruns_equal_to_uninterrupted"]
    rows = [[s.get("scenario", s.get("name", "?"))] + [s.get(k, "") for k in keys] for s in d["scenarios"]]
    rows.append(["**total**"] + [f"**{d['total'][k]}**" for k in keys])
    lines += [
        f"`{d['command']}` (commit {d['commit']}, {d['date']}, {d['machine']}): {d['what']}.",
        "",
        table(["scenario", "trials", "kills during the work", "finished files lost", "partial files",
               "reruns completed", "reruns equal to an uninterrupted run"], rows),
        "",
        "Each of these is also an integration test in CI (`ctest -R 'KillTrials|DiskFaults|CorruptCells|BackboneCheckpointDamage'`), with a few trials: "
        "a full disk (a small tmpfs) during a cell write and during checkpointing gives one error naming the "
        "path and leaves no partial file, and the next run completes; a read-only output folder is one error "
        "and nothing written; a cell file truncated or corrupted after the fact is `corrupt` in `vdlab status` "
        "and redone by `vdlab run`; a corrupted checkpoint resumes from the previous good one or from scratch, "
        "saying which.",
        "",
    ]
    return lines


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "reliability.md")
    page = [
        "# Reliability: what vdlab guarantees and the figures behind it",
        "",
        "Regenerate: `scripts/reliability.sh` (runs the sanitized tests, the fuzzers and the fault trials, then "
        "writes this page from `results/reliability/*.json`); `python3 scripts/reliability_page.py` re-renders "
        "the page from the recorded figures alone.",
        "",
        "## Guarantees",
        "",
        "- A cell file, a backbone checkpoint, a report or a sweep table appears complete or not at all: each is "
        "written to a temporary name, flushed (fsync) and renamed; a killed process leaves at most temporary files "
        "that the next run removes. Finished cells are never lost.",
        "- A write that fails (full disk, read-only folder) is one error naming the path; nothing half-written "
        "remains. A cell file damaged after the fact is reported `corrupt` and run again.",
        "- Training checkpoints keep the previous good one; an unreadable checkpoint resumes from it or from "
        "scratch, and says which.",
        "- A TorchScript file is code: `sha256:` pins a backbone or an extractor file, checked before any cell "
        "runs; a different file is refused with one line naming both hashes. No experiment value reaches a shell.",
        "- NaN or Inf in a model output, in features, in a covariance or in a training loss stops that work with "
        "one message naming the cell, the stage and the count; no metric is written from non-finite data.",
        "- Experiment files, clip stores, cell files, split lists and captions are fuzzed: malformed input is an "
        "error naming the culprit, never a crash, a hang or an unbounded allocation.",
        "",
    ]
    page += sanitizer_section(load("sanitizer.json"))
    page += fuzz_section(load("fuzz.json"))
    page += faults_section(load("faults.json"))
    page += [
        "## Known limits",
        "",
        "- A full disk during a cell write: libhdf5 prints its own `H5Dclose failed` lines beside vdlab's one "
        "error, and the process can crash inside libhdf5's cleanup at exit, after the error and with no cell file "
        "left; the next run completes.",
        "- A checkpoint whose tensor bytes are overwritten in place (size and archive structure intact) is not "
        "detected: this LibTorch's archive reader does not verify the records' CRC32; truncated or unreadable "
        "checkpoints are (`BackboneCheckpointDamage.*`).",
        "- `runs.log` (a backbone's training log) is appended without a check, and videos written through OpenCV "
        "are not read back on a full disk.",
        "- A byte-corrupted HDF5 file can crash libhdf5 1.10.8 itself (two known inputs, `fuzz/hdf5-library-crashes/`); "
        "reading untrusted HDF5 files in a child process would contain that.",
        "",
    ]
    tmp = out + ".tmp"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(tmp, "w") as f:
        f.write("\n".join(page).rstrip() + "\n")
    os.replace(tmp, out)
    print(f"reliability: wrote {out}")


if __name__ == "__main__":
    main()
