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
    ### BEGIN SOLUTION
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    wh = (rb - lt).clamp(min=0)  # (N, M, 2) no overlap: 0
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = area1[:, None] + area2[None, :] - inter  # (N, M)
    lt_c = torch.minimum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2) the enclosing box
    rb_c = torch.maximum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    area_c = (rb_c - lt_c).prod(dim=-1)  # (N, M)
    giou = inter / union - (area_c - union) / area_c
    ### END SOLUTION
    return giou


def matching_cost(pred_logits: Tensor, pred_boxes: Tensor, tgt_labels: Tensor, tgt_boxes: Tensor,
                  cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0) -> Tensor:
    """DETR's matching cost for one image (its defaults are DETR's weights).

    pred_logits: (Q, K + 1) class scores (the last class is "no object"); pred_boxes: (Q, 4) and
    tgt_boxes: (M, 4), (cx, cy, w, h); tgt_labels: (M,) int64 in 0..K-1. Returns C: (Q, M).
    """
    ### BEGIN SOLUTION
    logits = pred_logits - pred_logits.amax(dim=-1, keepdim=True)  # stabilise exp
    prob = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)  # (Q, K+1)
    c_class = -prob[:, tgt_labels]  # (Q, M)
    c_bbox = (pred_boxes[:, None, :] - tgt_boxes[None, :, :]).abs().sum(dim=-1)  # (Q, M) L1
    c_giou = -generalized_box_iou(box_cxcywh_to_xyxy(pred_boxes), box_cxcywh_to_xyxy(tgt_boxes))  # (Q, M)
    cost = cost_bbox * c_bbox + cost_class * c_class + cost_giou * c_giou
    ### END SOLUTION
    return cost


def hungarian_match(cost: Tensor) -> tuple[Tensor, Tensor]:
    """A minimum-cost one-to-one assignment of the rows and columns of ``cost`` (R, S), as
    ``scipy.optimize.linear_sum_assignment`` returns it: (rows, cols), int64 (min(R, S),), rows
    increasing, pairing row rows[i] with column cols[i]; the sum of cost[rows, cols] is the least
    over all assignments. Written by hand: the Hungarian (Kuhn-Munkres) algorithm with potentials.
    """
    ### BEGIN SOLUTION
    transposed = cost.shape[0] > cost.shape[1]
    c = (cost.T if transposed else cost).tolist()  # n rows <= m columns
    n, m = len(c), len(c[0]) if c else 0
    inf = float("inf")
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)  # potentials; index 0 is a virtual column/row
    match = [0] * (m + 1)  # match[j]: the row (1-based) holding column j, 0 if free
    way = [0] * (m + 1)
    for i in range(1, n + 1):  # add row i along a shortest augmenting path
        match[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = match[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = c[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:  # flip the path
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    pairs = sorted((match[j] - 1, j - 1) for j in range(1, m + 1) if match[j])  # (row, column)
    if transposed:
        pairs = sorted((col, row) for row, col in pairs)
    rows = torch.tensor([p[0] for p in pairs], dtype=torch.int64)
    cols = torch.tensor([p[1] for p in pairs], dtype=torch.int64)
    ### END SOLUTION
    return rows, cols


def bipartite_match(pred_logits: Tensor, pred_boxes: Tensor, tgt_labels: Tensor, tgt_boxes: Tensor,
                    cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0) -> tuple[Tensor, Tensor]:
    """DETR's matcher for one image: matching_cost, then hungarian_match. Q >= M.

    Returns (pred_idx, tgt_idx), int64 (M,): prediction pred_idx[i] is matched to target tgt_idx[i],
    pred_idx increasing.
    """
    ### BEGIN SOLUTION
    cost = matching_cost(pred_logits, pred_boxes, tgt_labels, tgt_boxes, cost_class, cost_bbox, cost_giou)  # (Q, M)
    pred_idx, tgt_idx = hungarian_match(cost)
    ### END SOLUTION
    return pred_idx, tgt_idx
