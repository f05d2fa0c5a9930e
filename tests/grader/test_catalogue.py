"""The suites' catalogue: their tasks' metadata, kept in the cache folder and read back without torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grader import cache, paths
from grader.judge import cases
from grader.sandbox import bundle
from grader.tasks import catalogue, suites

A02 = "a02_mlp_backprop"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty cache folder, and a process that has not read the catalogue yet."""
    where = tmp_path / "cache"
    monkeypatch.setenv(paths.CACHE_ENV, str(where))
    catalogue._catalogue.cache_clear()
    yield where
    catalogue._catalogue.cache_clear()


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """The suites imported from now on, by assignment."""
    seen: list[str] = []
    real = suites.load
    monkeypatch.setattr(suites, "load", lambda aid: seen.append(aid) or real(aid))
    return seen


def new_process() -> None:
    catalogue._catalogue.cache_clear()


def test_the_catalogue_says_what_every_suite_declares(folder, loads):
    assert catalogue.available() == suites.available() and len(catalogue.available()) == 13
    assert sorted(loads) == suites.available()  # each suite imported once
    new_process()
    kept = {aid: catalogue.load(aid) for aid in catalogue.available()}
    assert sorted(loads) == suites.available()  # read back: no suite imported again
    for aid, info in kept.items():
        suite = suites.load(aid)
        assert (info.assignment, info.prefix, info.exact_outputs) == (aid, suite.prefix, suite.exact_outputs)
        assert list(info.tasks) == list(suite.tasks)
        for task in suite.tasks.values():
            t = info.tasks[task.id]
            assert (t.id, t.module, t.function, t.grads, t.calls, t.wrt, t.upstream) == \
                (task.id, task.module, task.function, task.grads, task.calls, task.wrt, task.upstream)
            assert t.has_forward == (task.forward is not None)
        assert info == catalogue.of(suite)
    assert any(t.has_forward for t in kept[A02].tasks.values())
    assert any(not t.has_forward for t in kept[A02].tasks.values())
    assert kept["a06_energy_models"].exact_outputs and not kept[A02].exact_outputs


def test_an_assignment_without_a_suite_has_no_entry(folder):
    with pytest.raises(KeyError):
        catalogue.load("a99_nothing")
    assert cases.suite_tasks("a99_nothing") is None
    assert cases.suite_tasks(A02) == list(catalogue.load(A02).tasks)


def test_a_new_process_reads_a_warm_catalogue_without_torch(folder):
    code = ("import json, sys\n"
            "from grader.tasks import catalogue\n"
            f"info = catalogue.load({A02!r})\n"
            "print(json.dumps({'tasks': list(info.tasks), 'modules': sorted(m for m in sys.modules\n"
            "    if m == 'torch' or m.startswith(('torch.', 'grader.tasks.suites.', 'grader.tasks.model')))}))\n")
    env = dict(os.environ, **{paths.CACHE_ENV: str(folder)})
    seen = []
    for _ in ("cold", "warm"):  # each a new process: the digest of grader/tasks/ is its own
        done = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        seen.append(json.loads(done.stdout))
    tasks = list(suites.load(A02).tasks)
    assert seen[0]["tasks"] == tasks and "torch" in seen[0]["modules"]  # the cold one imported every suite
    assert seen[1] == {"tasks": tasks, "modules": []}


def test_a_stale_entry_is_made_again_for_the_new_key(folder, loads, monkeypatch):
    catalogue.available()
    before = json.loads((folder / catalogue.FILE).read_bytes().split(b"\n", 1)[0])["key"]
    changed = dict(before, tasks="0" * 64)  # grader/tasks/ as it would be after an edit
    monkeypatch.setattr(catalogue, "key", lambda: changed)
    loads.clear()
    new_process()
    assert catalogue.load(A02) == catalogue.of(suites.load(A02))
    assert sorted(set(loads)) == suites.available()  # every suite imported again
    assert cache.read(folder / catalogue.FILE, catalogue.FORMAT, changed) is not None  # kept for the new key
    assert cache.read(folder / catalogue.FILE, catalogue.FORMAT, before) is None


def test_a_corrupt_entry_is_refused_and_made_again(folder, loads, capsys):
    catalogue.available()
    kept = folder / catalogue.FILE
    head, body = kept.read_bytes().split(b"\n", 1)
    forged = json.loads(body)
    forged[A02]["tasks"][0]["module"] = "forged"
    kept.write_bytes(head + b"\n" + json.dumps(forged).encode())  # the bytes no longer match the digest
    loads.clear()
    new_process()
    assert catalogue.load(A02) == catalogue.of(suites.load(A02))
    assert A02 in loads and "refused" in capsys.readouterr().err
    assert cache.read(kept, catalogue.FORMAT, catalogue.key()) == body  # written anew


def test_an_entry_that_is_no_catalogue_is_refused_though_its_digest_matches(folder, loads, capsys):
    odd = {A02: {"prefix": "a02", "exact_outputs": False, "tasks": [{"id": "a02.x", "module": 3}]}}
    cache.folder()
    cache.write(folder / catalogue.FILE, catalogue.FORMAT, catalogue.key(), json.dumps(odd).encode())
    assert catalogue.load(A02) == catalogue.of(suites.load(A02))
    assert "not a catalogue" in capsys.readouterr().err
    assert cache.read(folder / catalogue.FILE, catalogue.FORMAT, catalogue.key()) != json.dumps(odd).encode()


def test_an_unusable_cache_folder_costs_only_time(tmp_path, monkeypatch, capsys, loads):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "a-file" / "cache"))
    new_process()
    try:
        assert catalogue.load(A02) == catalogue.of(suites.load(A02))
        assert catalogue.available() == suites.available()
    finally:
        new_process()
    assert "cannot be used" in capsys.readouterr().err and A02 in loads


def test_the_catalogue_never_crosses_into_the_child(tmp_path):
    made = bundle.make(tmp_path, A02, paths.ROOT / "assignments" / A02)
    copied = {p.relative_to(made).as_posix() for p in made.rglob("*.py")}
    assert "_grader/grader/tasks/model.py" in copied and f"suite/{A02}.py" in copied
    assert not any(p.endswith("catalogue.py") for p in copied)
