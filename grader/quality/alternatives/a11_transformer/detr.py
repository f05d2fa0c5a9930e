"""Alternative a11 DETR matching, correct but written differently from the reference: the GIoU pair by pair
in plain floats, the cost with torch.cdist and torch.softmax, and the assignment by brute force over every
permutation (exact, and fast enough for the small matrices graded)."""
import itertools

import torch


def generalized_box_iou(boxes1, boxes2):
    out = torch.empty(boxes1.shape[0], boxes2.shape[0], dtype=boxes1.dtype, device=boxes1.device)
    for i, a in enumerate(boxes1.tolist()):
        for j, b in enumerate(boxes2.tolist()):
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
            out[i, j] = inter / union - (hull - union) / hull
    return out


def matching_cost(pred_logits, pred_boxes, tgt_labels, tgt_boxes, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
    prob = torch.softmax(pred_logits, dim=-1)
    xyxy = lambda b: torch.cat([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], dim=1)  # noqa: E731
    return (cost_class * -prob[:, tgt_labels] + cost_bbox * torch.cdist(pred_boxes, tgt_boxes, p=1)
            - cost_giou * generalized_box_iou(xyxy(pred_boxes), xyxy(tgt_boxes)))


def hungarian_match(cost):
    r, s = cost.shape
    c = cost.tolist()
    if r <= s:
        best = min(itertools.permutations(range(s), r), key=lambda p: sum(c[i][p[i]] for i in range(r)))
        pairs = [(i, best[i]) for i in range(r)]
    else:
        best = min(itertools.permutations(range(r), s), key=lambda p: sum(c[p[j]][j] for j in range(s)))
        pairs = sorted((best[j], j) for j in range(s))
    return torch.tensor([p[0] for p in pairs], dtype=torch.int64), torch.tensor([p[1] for p in pairs], dtype=torch.int64)


def bipartite_match(pred_logits, pred_boxes, tgt_labels, tgt_boxes, cost_class=1.0, cost_bbox=5.0, cost_giou=2.0):
    return hungarian_match(matching_cost(pred_logits, pred_boxes, tgt_labels, tgt_boxes, cost_class, cost_bbox,
                                         cost_giou))
