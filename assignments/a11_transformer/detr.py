"""DETR's bipartite matching (Carion et al., 2020): the matching cost and an optimal one-to-one assignment.

Boxes are (cx, cy, w, h) as DETR predicts them, converted to corners (x0, y0, x1, y1) for the
generalized IoU. The cost of matching prediction i to target j is
    C[i, j] = -w_class p_i(c_j) + w_bbox ||b_i - b_j||_1 - w_giou GIoU(b_i, b_j),
p_i = softmax of prediction i's class logits; the matching minimises the total cost over
one-to-one assignments (the Hungarian algorithm), every target getting its own prediction.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def box_cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """(..., 4) centre, width, height -> (..., 4) corners x0, y0, x1, y1."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """GIoU (Rezatofighi et al., 2019) of every pair: IoU - (|C| - |A u B|) / |C|, C the smallest box enclosing both.

    boxes1: (N, 4), boxes2: (M, 4), corners (x0, y0, x1, y1) with x1 > x0, y1 > y0. Returns (N, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.generalized_box_iou")
    return giou


def matching_cost(pred_logits: Tensor, pred_boxes: Tensor, tgt_labels: Tensor, tgt_boxes: Tensor,
                  cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0) -> Tensor:
    """DETR's matching cost for one image (its defaults are DETR's weights).

    pred_logits: (Q, K + 1) class scores (the last class is "no object"); pred_boxes: (Q, 4) and
    tgt_boxes: (M, 4), (cx, cy, w, h); tgt_labels: (M,) int64 in 0..K-1. Returns C: (Q, M).
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.matching_cost")
    return cost


def hungarian_match(cost: Tensor) -> tuple[Tensor, Tensor]:
    """A minimum-cost one-to-one assignment of the rows and columns of ``cost`` (R, S), as
    ``scipy.optimize.linear_sum_assignment`` returns it: (rows, cols), int64 (min(R, S),), rows
    increasing, pairing row rows[i] with column cols[i]; the sum of cost[rows, cols] is the least
    over all assignments. Written by hand: the Hungarian (Kuhn-Munkres) algorithm with potentials.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.hungarian_match")
    return rows, cols


def bipartite_match(pred_logits: Tensor, pred_boxes: Tensor, tgt_labels: Tensor, tgt_boxes: Tensor,
                    cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0) -> tuple[Tensor, Tensor]:
    """DETR's matcher for one image: matching_cost, then hungarian_match. Q >= M.

    Returns (pred_idx, tgt_idx), int64 (M,): prediction pred_idx[i] is matched to target tgt_idx[i],
    pred_idx increasing.
    """
    # YOUR CODE HERE
    raise NotImplementedError("a11.bipartite_match")
    return pred_idx, tgt_idx
