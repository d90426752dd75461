"""Learning from verdicts: false-alarm share, recall and macro-F1 on month 2, before and after.

Usage: python benchmarks/learning.py [--seed 101 --days 60 --skus 800] [--dataset DIR]

Runs ``tally run`` on a labelled two-month log (generated from a held-out seed >= 100, or
the labelled dataset folder given), gives every first-month ticket the verdict a site that
knows the labels would give (CONFIRMED with the label's cause and action for a ticket that
covers a labelled case, FALSE_ALARM for the others), writes them as ``resolutions.csv``
into a copy of the folder and runs again. Prints the second month's figures before and
after, what was learned, and the target check: false-alarm share at least halved (or
<= 0.03), recall down by no more than 0.02, macro-F1 not down.
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
from pathlib import Path

from agents.batch import BatchResult, run_dataset
from evals.expectations import expectations_from_labels
from evals.learning import HalfFigures, TimeSplit
from sim.generator import GeneratorConfig, generate
from warehouse.loader import load_dataset
from warehouse.loader.resolutions import write_resolutions
from warehouse.settings import Settings
from warehouse.writer import write_dataset

DATASET_FILES = ("items", "locations", "transactions")


def _copy_without_resolutions(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if path.name.split(".")[0] in (*DATASET_FILES, "labels"):
            (dst / path.name).symlink_to(path.resolve())
    return dst


def _row(name: str, f: HalfFigures) -> str:
    return (f"| {name} | {f.tickets} | {f.actionable_tickets} | {f.false_alarms} | "
            f"{f.false_alarm_share:.3f} | {f.recall:.3f} | {f.macro_f1:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--skus", type=int, default=800)
    parser.add_argument("--noise", type=float, default=1.0, help="benign-noise multiplier")
    parser.add_argument("--profile", default=None, help="generator site profile, if any")
    parser.add_argument("--dataset", type=Path, default=None, help="a labelled dataset folder")
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="tally-learning-") as tmp:
        root = Path(tmp)
        if args.dataset is None:
            if args.seed < 100:
                parser.error("use a held-out seed (>= 100)")
            extra = {}
            if args.profile:
                if "profile" not in inspect.signature(GeneratorConfig).parameters:
                    parser.error("this generator has no site profiles")
                extra["profile"] = args.profile
            cfg = GeneratorConfig(seed=args.seed, days=args.days, skus=args.skus,
                                  noise=args.noise, **extra)
            write_dataset(generate(cfg), root / "source")
            source = root / "source"
            name = (f"generated seed {args.seed}, {args.days} days, {args.skus} SKUs, "
                    f"noise {args.noise:g}") + (
                f", profile {args.profile}" if args.profile else "")
        else:
            source, name = args.dataset, str(args.dataset)
        plain = _copy_without_resolutions(source, root / "plain")
        data = load_dataset(plain).dataset
        if data.labels is None:
            parser.error(f"{source} has no labels.csv")
        split = TimeSplit(data, expectations_from_labels(data.labels))
        before: BatchResult = run_dataset(plain, root / "before", settings)
        verdicts = split.verdicts(before.tickets, decided_by="site-supervisor")
        taught = _copy_without_resolutions(source, root / "taught")
        write_resolutions(verdicts, taught / "resolutions.csv")
        after = run_dataset(taught, root / "after", settings)
        b, a = split.second_half(before.tickets), split.second_half(after.tickets)
        lost = [t for t in after.tickets if (t.model_extra or {}).get("learned")
                and not split.first_half(t.txn_ids)
                and any(e.actionable and e.txn_ids.intersection(t.txn_ids)
                        for e in split.expectations)]
    confirmed = sum(v.verdict.value == "CONFIRMED" for v in verdicts)
    print(f"\n{name}: {len(verdicts)} month-1 verdicts ({confirmed} CONFIRMED, "
          f"{len(verdicts) - confirmed} FALSE_ALARM); figures on month 2\n")
    print("| run | tickets | actionable | false alarms | false-alarm share | recall | macro-F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(_row("before (no verdicts)", b))
    print(_row("after (month-1 verdicts)", a))
    if after.learning is not None:
        print("\nlearned:")
        for line in [*after.learning.lines(), *after.learning.guarded]:
            print(f"- {line}")
    for t in lost:
        print(f"- real case suppressed: {t.ticket_id} {t.model_extra['learned']['root_cause']}: "
              f"{t.model_extra['learned']['reason'] or 'resolved'}")
    halved = a.false_alarm_share <= b.false_alarm_share / 2 or a.false_alarm_share <= 0.03
    ok = halved and a.recall >= b.recall - 0.02 and a.macro_f1 >= b.macro_f1 - 1e-9
    print(f"\ntarget (false alarms halved or <= 0.03, recall -0.02 at most, macro-F1 not "
          f"down): {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
