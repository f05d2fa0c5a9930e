"""Grading a04 end to end: full marks for the solutions, zero for the skeleton, seeded bugs lose only their tasks."""
from __future__ import annotations


import pytest

from grader.tasks.suites import a04_cnn
from tests.helpers import grade_folder, lost_tasks, seeded_bugs

AID = "a04_cnn"
MAX_SCORE = 38
LENET = {"a04.lenet_forward", "a04.lenet_backward", "a04.lenet_train_step"}


def test_calls_name_every_task_a_composite_runs():
    tasks = a04_cnn.SUITE.tasks
    for task in tasks.values():
        assert set(task.calls) <= set(tasks), task.id
    forwards = {"a04.conv_forward", "a04.im2col", "a04.max_pool_forward", "a04.flatten_forward",
                "a04.affine_forward", "a04.relu_forward"}
    assert forwards <= set(tasks["a04.lenet_forward"].calls)
    assert forwards | {"a04.col2im", "a04.conv_backward", "a04.max_pool_backward"} <= set(tasks["a04.lenet_train_step"].calls)


# Bugs whose lost tasks do not overlap share one grading. Each entry: edits, and per bug the
# tasks it must lose (its own, and the composites that call it) with a word of the diagnosis.
BUG_GROUPS = {
    "flipped kernel, avg-pool gradient not shared, in-place SGD": (
        [("conv.py", "    out = w.reshape(f, -1) @ cols + b.reshape(f, 1)  # (N, F, H'*W')\n",
          "    out = w.flip(2, 3).reshape(f, -1) @ cols + b.reshape(f, 1)  # (N, F, H'*W')\n"),
         ("pool.py", "    share = dout / (hh * ww)  # (N, C, H', W')\n", "    share = dout  # (N, C, H', W')\n"),
         ("lenet.py", "{k: params[k] - lr * grads[k] for k in params}", "{k: params[k].sub_(lr * grads[k]) for k in params}")],
        {"a04.conv_forward": "out:", "a04.avg_pool_backward": "dx:", **dict.fromkeys(LENET, "")}),
    "naive kernel flipped, wrong padding offset in col2im": (
        [("conv.py", "    w_row = w.reshape(f, -1)  # (F, C*HH*WW)\n    out = x.new_empty",
          "    w_row = w.flip(2, 3).reshape(f, -1)  # (F, C*HH*WW)\n    out = x.new_empty"),
         ("conv.py", "    x = x_pad[:, :, pad:pad + h, pad:pad + wd]  # (N, C, H, W)\n",
          "    x = x_pad[:, :, :h, :wd]  # (N, C, H, W)\n")],
        {"a04.conv_forward_naive": "out:", "a04.col2im": "x:", "a04.conv_backward": "dx:"}),
    "pooling gradient sent to every element of the window": (
        [("pool.py", "+= dout * won\n", "+= dout\n")],
        {"a04.max_pool_backward": "dx:", "a04.lenet_backward": "dC1_w", "a04.lenet_train_step": ""}),
    "im2col padded on one side only, naive dx keeps the padding offset wrong, flatten in H, W, C order": (
        [("conv.py", "    x_pad = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (N, C, H + 2P, W + 2P)\n"
                     "    cols = x.new_empty",
          "    x_pad = torch.nn.functional.pad(x, (0, 2 * pad, 0, 2 * pad))  # (N, C, H + 2P, W + 2P)\n"
          "    cols = x.new_empty"),
         ("conv.py", "    dx = dx_pad[:, :, pad:pad + h, pad:pad + wd]  # drop the padding: it is not an input\n",
          "    dx = dx_pad[:, :, :h, :wd]  # drop the padding: it is not an input\n"),
         ("pool.py", "    out = x.reshape(x.shape[0], -1)  # (N, C*H*W)\n",
          "    out = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # (N, C*H*W)\n")],
        {"a04.im2col": "cols:", "a04.conv_forward": "out:", "a04.conv_backward": "dw:",
         "a04.conv_backward_naive": "dx:", "a04.flatten_forward": "out:", **dict.fromkeys(LENET, "")}),
    "torch's conv2d in the naive forward, Tensor.unfold in im2col (banned)": (
        [("conv.py", "    out = x.new_empty(n, f, h_out, w_out)\n",
          "    out = torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad)\n    return out, (x, w, b, stride, pad)\n"),
         ("conv.py", "    cols = cols.reshape(n, c * hh * ww, h_out * w_out)\n",
          "    cols = x_pad.unfold(2, hh, stride).unfold(3, ww, stride).permute(0, 1, 4, 5, 2, 3)"
          ".reshape(n, c * hh * ww, h_out * w_out)\n")],
        {"a04.conv_forward_naive": "torch.nn.functional.conv2d", "a04.conv_backward_naive": "torch.nn.functional.conv2d",
         "a04.im2col": "torch.Tensor.unfold"}),
    "LeNet backward skips F6's ReLU": (
        [("lenet.py", "affine_relu_backward(da6, f6_cache)", "layers.affine_backward(da6, f6_cache[0])")],
        {"a04.lenet_backward": "dF6_w", "a04.lenet_train_step": ""}),
}


@pytest.mark.parametrize("group", list(BUG_GROUPS))
def test_seeded_bugs_lose_only_their_tasks(group, solutions, tmp_path):
    edits, affected = BUG_GROUPS[group]
    result = grade_folder(seeded_bugs(solutions(AID), tmp_path, edits), sandboxed=False)
    assert lost_tasks(result) == set(affected)
    tasks = {t.id: t for t in result.assignments[0].tasks}
    for task_id, word in affected.items():
        messages = " ".join(c.said for c in tasks[task_id].checks if not c.passed)
        assert tasks[task_id].status != "passed" and word in messages, (task_id, messages)
    for task_id in LENET & set(affected):
        culprits = [t for t in affected if t not in LENET]
        if culprits:  # a composite that fails because a layer fails says which one
            messages = " ".join(c.said for c in tasks[task_id].checks if not c.passed)
            assert "it calls" in messages and any(c in messages for c in culprits), (task_id, messages)
