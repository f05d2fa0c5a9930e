"""The same batch on a Dask distributed cluster (a LocalCluster of worker processes): the coordinator alone writes
the gradebook, each worker grades in its own warm sandbox, and the grades are the local pool's."""
from __future__ import annotations

import os
import sqlite3

from distributed import Client, LocalCluster

from grader import cli
from grader.batch import executors
from tests.grader.batch.common import AID, assert_graded_as_expected, leftovers


def column(gradebook, name: str) -> set:
    db = sqlite3.connect(gradebook)
    try:
        return {r[0] for r in db.execute(f"SELECT DISTINCT {name} FROM submissions")}
    finally:
        db.close()


def test_a_dask_cluster_grades_the_class_as_the_local_pool_does(a01_class, tmp_path, monkeypatch, capsys):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the workers' sandboxes, to find anything they leave behind
    gradebook = tmp_path / "grades.sqlite"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs=executors.NO_DASHBOARD) as cluster:
        code = cli.main(["batch", str(a01_class.folder), "--gradebook", str(gradebook), "--executor", "dask",
                         "--scheduler", cluster.scheduler_address, "--assignment", AID, "-q"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert f"graded {len(a01_class.expected)} of {len(a01_class.expected)} submissions" in out
        with Client(cluster) as client:
            cluster_pids = set(client.run(os.getpid).values())
    assert_graded_as_expected(gradebook, a01_class.expected)
    workers = {int(w.rsplit(":", 1)[1]) for w in column(gradebook, "worker")}
    assert workers <= cluster_pids and os.getpid() not in workers  # graded in the cluster, never here
    assert len(column(gradebook, "sandbox")) == 1 and None not in column(gradebook, "sandbox")
    for pid in workers:  # the cluster closed: its workers are gone, and so is every sandbox they started
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert leftovers(None, str(tmp)) == []
