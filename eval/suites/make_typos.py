"""Write the `real-typos-*` tuning suites: each `real-extra-*` question with two typos.

    .venv/bin/python eval/suites/make_typos.py

Two of each question's words of six letters or more get a dropped, doubled or swapped letter,
chosen by a fixed seed, so the suites are the same on every run. Gold SQL, numbers and kinds
are the real-extra case's. These are tuning suites (like real-extra): they measure how much a
misspelling costs against the same questions spelled right; the blind suites' typo wordings
stay the held-out measure.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import yaml

SUITES = Path(__file__).resolve().parent
SEED = 7


def misspelled(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["drop", "swap", "double"])
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + word[at] + word[at:]


def main() -> None:
    rng = random.Random(SEED)
    for source in sorted(SUITES.glob("real-extra-*.yaml")):
        suite = yaml.safe_load(source.read_text())
        for case in suite["cases"]:
            question = case["question"]
            words = list(re.finditer(r"[A-Za-z]{6,}", question))
            for match in sorted(rng.sample(words, min(2, len(words))), key=lambda m: -m.start()):
                question = (
                    question[: match.start()] + misspelled(match.group(0), rng) + question[match.end() :]
                )
            case["question"] = question
        suite["name"] = suite["name"].replace("real-extra", "real-typos")
        suite["description"] = f"{suite['description']} Two typos per question (eval/suites/make_typos.py)."
        header = (
            f"# Written by eval/suites/make_typos.py from {source.name}: the same cases, two typos each.\n"
        )
        out = SUITES / f"{suite['name']}.yaml"
        out.write_text(header + yaml.safe_dump(suite, sort_keys=False, allow_unicode=True, width=100))


if __name__ == "__main__":
    main()
