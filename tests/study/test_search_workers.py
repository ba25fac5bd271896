"""Two workers on one search: ``python -m src.study study=smoke study.stage=search`` started twice at once on
one SQLite storage. Every trial lands in the one Optuna study, is run once, and is recorded once; the two
searches hold exactly ``search.trials`` complete trials each, with no values asked twice."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from src.record import read_record

from .helpers import start_study, trials_of

pytestmark = pytest.mark.slow


def test_two_workers_share_one_search_and_no_trial_is_lost_or_run_twice(tmp_path):
    study_dir = tmp_path / "study"
    workers = [start_study(study_dir, "study=smoke", "study.stage=search", "study.search.batch=1", log=tmp_path / f"worker{i}.log")
               for i in range(2)]  # fmt: skip
    for i, worker in enumerate(workers):
        assert worker.wait(timeout=600) == 0, (tmp_path / f"worker{i}.log").read_text()[-3000:]
    trials = trials_of(study_dir)
    assert sorted(name.split("@")[0] for name in trials) == ["tiny_bert-sst2-krona", "tiny_bert-sst2-lora"]
    owners = Counter()
    for name, found in trials.items():
        complete = [t for t in found if t.state.name == "COMPLETE"]
        assert len(complete) == 2, (name, [(t.number, t.state.name, t.user_attrs) for t in found])
        assert len({t.params["optim.lr"] for t in complete}) == 2, name  # no values asked twice
        for trial in complete:
            (run_dir,) = trial.user_attrs["run_dirs"]
            assert trial.value == pytest.approx(
                read_record(study_dir / run_dir).scores("validation")["accuracy"]
            )
            owners[trial.user_attrs["worker"]] += 1
        surplus = [t for t in found if t.state.name != "COMPLETE"]
        assert all(t.user_attrs.get("surplus") for t in surplus), name  # only asks refused as surplus
    launched = Counter()
    for jobs_file in (study_dir / "launches").glob("*.json"):
        for job in json.loads(jobs_file.read_text())["jobs"]:
            launched[next(o for o in job if o.startswith("paths.output_dir="))] += 1
    assert sum(launched.values()) == 4 and max(launched.values()) == 1  # 2 searches x 2 trials, each run once
    assert len(owners) == 2  # both workers ran trials (one at a time each: the other asks while it trains)
