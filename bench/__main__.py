"""``python -m bench`` (``make bench``): run every benchmark, print the tables, and write the results.

Writes ``results.json`` (per benchmark: the machine, every measurement, the targets and the table), one PNG per
benchmark and ``results.md`` (the same as markdown, included by the book's Benchmarks page) into ``--out`` (default
``book/benchmarks``). ``--quick`` runs tiny sizes (the smoke test); ``--only`` reruns some benchmarks by name and
keeps the others' last results.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import common, local_attention, mha, notebooks, relative_logits, sequence_layers, throughput, \
    transformer_toy
from bench.common import markdown_table

BENCHMARKS = {"mha": mha, "throughput": throughput, "relative_logits": relative_logits,
              "local_attention": local_attention, "sequence_layers": sequence_layers,
              "transformer_toy": transformer_toy, "notebooks": notebooks}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "book" / "benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS),
                        help="run these; the others keep their last results in --out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    results = {"quick": args.quick, "benchmarks": {}}
    if previous.get("quick") == args.quick:  # keep what was not rerun
        results["benchmarks"] = {k: v for k, v in previous["benchmarks"].items() if k in BENCHMARKS}
    machine = common.machine()
    for name in args.only:
        module = BENCHMARKS[name]
        print(f"== {module.TITLE}", flush=True)
        result = module.run(quick=args.quick)
        report = module.report(result)
        print(report, flush=True)
        module.figure(result).savefig(args.out / f"{name}.png", dpi=100)
        results["benchmarks"][name] = {"title": module.TITLE, "machine": machine, "result": result,
                                       "targets": module.targets(result), "report": report}
    results["benchmarks"] = {k: results["benchmarks"][k] for k in BENCHMARKS if k in results["benchmarks"]}
    path.write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "results.md").write_text(render(results))
    print(f"wrote {path}, {args.out / 'results.md'} and the figures")
    return results


def render(results: dict) -> str:
    """The results page's body: the machine(s), the targets, then each benchmark's settings, figure and table.

    Tables and targets are recomputed from each benchmark's stored ``result`` with its module's ``report`` and
    ``targets``, so that a change to how results are presented (or judged) reaches the page without rerunning the
    measurements; a result recorded before spreads were shows medians alone, and says so."""
    entries = results["benchmarks"]
    def without_date(machine: dict) -> dict:
        return {k: v for k, v in machine.items() if k != "date"}

    machines = []  # the distinct machines (the date of each benchmark's run is in its section)
    for entry in entries.values():
        if without_date(entry["machine"]) not in machines:
            machines.append(without_date(entry["machine"]))
    keys = list(machines[0])
    machine = markdown_table(["", *(f"machine {i + 1}" for i in range(len(machines)))] if len(machines) > 1 else ["", ""],
                             [[k.replace("_", " "), *("none" if m.get(k) is None else m[k] for m in machines)]
                              for k in keys])
    goals = [t for name, entry in entries.items() for t in BENCHMARKS[name].targets(entry["result"])]
    summary = markdown_table(
        ["target", "kind", "measured", "goal", "met"],
        [[t["what"], "absolute: seconds on this machine" if "seconds" in t["what"] else "ratio, same run",
          t["measured"], t["target"], "yes" if t["met"] else "**no**"] for t in goals])
    quick = "\n**Quick run (tiny sizes): these numbers only show that everything runs.**\n" if results["quick"] else ""
    dates = sorted({entry["machine"]["date"] for entry in entries.values()})
    when = (f"All benchmarks were measured in one run ({dates[0]})." if len(dates) == 1 else
            f"The sections come from {len(dates)} runs (`--only` reruns some benchmarks and keeps the others): each "
            f"says when it was measured.")
    sections = []
    for name, entry in entries.items():
        run = f" on machine {machines.index(without_date(entry['machine'])) + 1}" if len(machines) > 1 else ""
        sections.append(f"## {entry['title']}\n\nMeasured {entry['machine']['date']}{run}.\n\n"
                        f"![{entry['title']}]({name}.png)\n\n{BENCHMARKS[name].report(entry['result'])}\n")
    return (f"## The machine\n{quick}\n{machine}\n\n{when}\n\n## Targets\n\n{summary}\n\n"
            + "\n".join(sections))


if __name__ == "__main__":
    main()
