#!/usr/bin/env bash
# Mutation testing of the decide stage, on demand only (never in CI; up to an hour on 2 cores): docs/mutation-testing.md.
# What is mutated and which tests run: [tool.mutmut] in pyproject.toml. Prints the score = killed / total at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet -e '.[test,mutation]'
rm -rf mutants  # a fresh run: no verdict cached from older code or tests
mutmut run --max-children "${MUTMUT_CHILDREN:-2}" > mutants.log 2>&1 \
  || { tail -c 3000 mutants.log; exit 1; }
mutmut results > mutants-survivors.txt || true  # every mutant not killed, one a line (`mutmut show NAME` shows the change)
mutmut export-cicd-stats > /dev/null
python3 - <<'PY'
import json
s = json.load(open("mutants/mutmut-cicd-stats.json"))
print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.items() if v))
print(f"mutation score: {s['killed']}/{s['total']} killed = {100 * s['killed'] / s['total']:.1f} %")
PY
