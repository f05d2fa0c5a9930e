"""Reproduce: a submission's own experiments, the figures it wrote, and figures that say what they show."""
from __future__ import annotations

import importlib
from pathlib import Path

import matplotlib
import pytest
import torch

from grader import cli

matplotlib.use("Agg")
F64 = torch.float64

FAKE_EXPERIMENTS = '''
from pathlib import Path
from .layers import answer

def run(plots=None):
    if plots is not None:
        Path(plots).mkdir(parents=True, exist_ok=True)
        (Path(plots) / "a02_fake.png").write_bytes(b"png")
    return [{"quantity": "the answer", "published": 42, "ours": answer(), "ok": answer() == 42}]
'''


def fake_submission(root: Path, answer: int) -> Path:
    """A course folder whose a02 experiments run on its own ``layers.answer``."""
    folder = root / "a02_mlp_backprop"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "layers.py").write_text(f"def answer():\n    return {answer}\n")
    (folder / "experiments.py").write_text(FAKE_EXPERIMENTS)
    return root


def test_submission_runs_its_own_experiments_prints_a_table_and_the_figures_written(tmp_path, capsys):
    submission = fake_submission(tmp_path / "mine", 42)
    plots = tmp_path / "plots"
    assert cli.main(["reproduce", "a02", "--submission", str(submission), "--plots", str(plots)]) == 0
    out, err = capsys.readouterr()
    assert "the answer" in out and "42" in out and "┃" in out  # a table, not a list of dicts
    assert f"wrote {plots / 'a02_fake.png'}" in err

    wrong = fake_submission(tmp_path / "wrong", 41)  # the submission's code is what runs
    assert cli.main(["reproduce", "a02", "--submission", str(wrong / "a02_mlp_backprop"), "--format", "json"]) == 1
    assert '"ours": 41' in capsys.readouterr().out


def test_a_skeleton_names_the_task_its_experiments_need(skeletons, capsys):
    assert cli.main(["reproduce", "a02", "--submission", str(skeletons("a02_mlp_backprop").parent)]) == 2
    err = capsys.readouterr().err
    assert "the experiments call a02." in err and "which is not implemented yet" in err


def test_a_submission_without_the_assignment_is_one_line(tmp_path, capsys):
    assert cli.main(["reproduce", "a02", "--submission", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"grader: no a02_mlp_backprop/experiments.py in {tmp_path}"


def problems(fig) -> list[str]:
    """What a reader could not tell from ``fig``: an untitled plot, an unlabelled axis of a curve or a
    scatter, an image with no colorbar for its values, a colorbar without a label."""
    images = [im for ax in fig.axes for im in ax.images]
    bars = [im.colorbar for im in images if im.colorbar is not None]
    scaled = {id(bar.mappable.norm) for bar in bars}  # images sharing a norm share its colorbar
    found = ["a colorbar without a label" for bar in bars if not (bar.ax.get_ylabel() or bar.ax.get_xlabel())]
    for ax in fig.axes:
        if any(ax is bar.ax for bar in bars) or not (ax.lines or ax.collections or ax.images):
            continue
        title = ax.get_title() or fig.get_suptitle()
        if not ax.get_title():
            found.append(f"an untitled plot in '{fig.get_suptitle()}'")
        if (ax.lines or ax.collections) and not (ax.get_xlabel() and ax.get_ylabel()):
            found.append(f"{title}: an axis without a label")
        found += [f"{title}: an image without a colorbar" for im in ax.images if id(im.norm) not in scaled]
    return found


def _a01(m):
    g = torch.Generator().manual_seed(0)
    data = {"x": torch.rand(20, 2, generator=g, dtype=F64), "t": (torch.arange(20) % 2).to(F64),
            "w": torch.tensor([1.0, 1.0], dtype=F64), "theta": torch.tensor(1.0, dtype=F64)}
    return m._plot, (data, data, {"hebb": [1.0, 2.0, 4.0], "oja": [1.0, 1.0, 1.0]})


def _a04(m):
    from reference.a04_cnn.lenet import init_lenet
    return m._plot_lenet, (init_lenet(torch.Generator().manual_seed(0)), [2.0, 1.0, 0.5])


def _a05(m):
    curve = {"loss": [2.0, 1.0, 0.5], "accuracy": [0.5, 0.8, 0.9], "percentiles": [[-1.0, 0.0, 1.0]] * 3}
    return m._plot_bn, (curve, curve)


def _a07(m):
    g = torch.Generator().manual_seed(0)
    curves = {"pretrained": [0.7, 0.9], "random init": [0.1, 0.2]}
    return m._plot, (torch.randn(6, 8, 8, generator=g, dtype=F64), torch.full((6,), 0.012, dtype=F64), 0.01,
                     torch.tensor([[3.0, 2.0], [1.5, 1.0]], dtype=F64), curves)


def _a08(m):
    return m._plot_maps, (torch.linspace(0, 1, 10, dtype=F64), torch.rand(100, 4, dtype=F64))


def _a06(m):
    steps = {"states": torch.rand(3, 16, 16, dtype=F64).round() * 2 - 1, "updates": [0, 64, "fixed point"],
             "energy": [3.0, 2.0, 1.0]}
    digits = {"filters": torch.randn(20, 64, dtype=F64), "samples": torch.rand(4, 3, 64, dtype=F64), "steps": [0, 1, 10]}
    return m._plot, ({"load": [0.05, 0.1, 0.2], "recall": [1.0, 0.6, 0.1]}, steps, digits,
                     {"rmse": [1.2, 0.8, 0.6], "baseline": 1.1})


def _a09(m):
    curve = torch.tensor([1.0, 0.1, 0.01], dtype=F64)
    run = {"loss": [1.4, 0.7, 0.1], "accuracy": 1.0}
    return m._plot, ({"rnn": curve, "bound": curve, "lstm 5": curve, "lstm 0": curve}, {"lstm": run, "rnn": run}, run)


def _a10(m):
    alpha = torch.softmax(torch.randn(8, 8, dtype=F64), dim=1)
    return m._plot, (alpha, torch.arange(8), alpha, [(50, 0.9), (100, 1.0)], [(50, 0.3), (100, 0.4)])


def _a11(m):
    maps = {"src": [1, 2, 3], "tgt": [10, 3, 2], "cross": torch.rand(2, 3, 3), "self": torch.rand(2, 3, 3)}
    return m._plot, (maps, torch.rand(8, 6, dtype=F64) * 2 - 1, [2.0, 1.0, 0.5])


def _a12(m):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(20, 8, 8, generator=g, dtype=F64)
    return m._plot_digits, ({"margin": [0.3, 0.1], "reconstruction": [3e-3, 1e-3], "accuracy": [0.8, 0.9],
                             "images": images, "reconstructions": images.flip(1), "labels": torch.arange(20) % 10,
                             "predicted": torch.arange(20) % 10},)


def _a13(m):
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 0, 1, 1, 0, 1])
    return m._plot_karate, ([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], torch.rand(6, 2, generator=g, dtype=F64), y,
                            torch.randn(6, 2, generator=g, dtype=F64), torch.rand(6, 4, generator=g, dtype=F64))


FIGURES = {
    "a01_neurons": _a01,
    "a02_mlp_backprop": lambda m: (m._plot_curves, ([1.0, 0.1, 0.01], [2.0, 1.0, 0.5])),
    "a03_neuroevolution": lambda m: (m._plot, ({"uniform crossover": -torch.tensor([0.3, 0.1, 1e-3])},)),
    "a04_cnn": _a04,
    "a05_batchnorm_alexnet": _a05,
    "a06_energy_models": _a06,
    "a07_autoencoders_dbn": _a07,
    "a08_unsupervised": _a08,
    "a09_recurrent": _a09,
    "a10_attention": _a10,
    "a11_transformer": _a11,
    "a12_capsules": _a12,
    "a13_graphs": _a13,
}


@pytest.mark.parametrize("aid", sorted(FIGURES))
def test_every_figure_has_titles_axis_labels_and_colorbars(aid, tmp_path, monkeypatch):
    """Each reference figure, drawn from small made-up data: checked as it is saved."""
    from matplotlib.figure import Figure

    found, saved = [], []
    real_savefig = Figure.savefig

    def checked_savefig(fig, path, *args, **kwargs):
        found.extend(f"{Path(path).name}: {p}" for p in problems(fig))
        saved.append(Path(path).name)
        return real_savefig(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", checked_savefig)
    plot, data = FIGURES[aid](importlib.import_module(f"reference.{aid}.experiments"))
    plot(tmp_path, *data)
    assert saved
    assert found == []
