"""Conformance entries for the boxes losses beyond the frameworks.

``box_iou_loss`` (1 - IoU), ``efficient_box_iou_loss`` (EIoU / Focal-EIoU, Zhang et al. 2022)
and ``scylla_box_iou_loss`` (SIoU, Gevorgyan 2022), in torchvision's box-loss style.

The references below are plain float64 NumPy, one box pair at a time with Python's ``math``,
written from the papers' definitions (SIoU's angle cost in the paper's own form: ``arcsin`` of
the sine of the smaller angle, switched at pi/4), with the ``eps`` placements the losses
document. They do not share code with ``lossbridge.detection``.

Cases, for each loss: random overlapping boxes (the compiled case), the registry's special
pairs (identical, nested, disjoint, touching, shared corners, zero-height, zero-width) and this
module's (coincident centres, centres on one axis, an offset on the diagonal where SIoU's angle
switches, equal widths, two colinear zero-width boxes, two identical point boxes, far apart),
leading dimensions with non-default keywords, and no boxes. ``box_iou_loss`` is also checked
against MONAI's ``box_iou`` (float32: MONAI computes in float32).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lossbridge.conformance.cases import (
    AOT,
    BOX_PAIRS,
    Entry,
    Oracle,
    arrays,
    base,
    boxes,
    const,
    entry,
)
from lossbridge.conformance.references import reduce_empty_as_zero
from lossbridge.detection import box_iou_loss, efficient_box_iou_loss, scylla_box_iou_loss

__all__ = [
    "ENTRIES",
    "box_iou_loss_reference",
    "efficient_box_iou_loss_reference",
    "scylla_box_iou_loss_reference",
]

# ------------------------------------------------------------------------------------------
# float64 references, one pair at a time
# ------------------------------------------------------------------------------------------


def _geometry(p: np.ndarray, g: np.ndarray, eps: float) -> dict[str, float]:
    """IoU, enclosing box, centre offset and sizes of one pair of (x1, y1, x2, y2) boxes."""
    x1, y1, x2, y2 = (float(v) for v in p)
    u1, v1, u2, v2 = (float(v) for v in g)
    # Intersection: positive only if both overlaps are (torchvision's _loss_inter_union).
    ow = min(x2, u2) - max(x1, u1)
    oh = min(y2, v2) - max(y1, v1)
    inter = ow * oh if (ow > 0 and oh > 0) else 0.0
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    return {
        "iou": inter / (union + eps),
        "cw": max(x2, u2) - min(x1, u1),
        "ch": max(y2, v2) - min(y1, v1),
        "dx": (u1 + u2) / 2 - (x1 + x2) / 2,
        "dy": (v1 + v2) / 2 - (y1 + y2) / 2,
        "w": x2 - x1,
        "h": y2 - y1,
        "wg": u2 - u1,
        "hg": v2 - v1,
    }


def _iou_loss(p, g, eps):
    return 1.0 - _geometry(p, g, eps)["iou"]


def _eiou(p, g, eps, gamma):
    """Zhang et al. (2022), eq. for L_EIoU and L_Focal-EIoU = IoU^gamma L_EIoU."""
    t = _geometry(p, g, eps)
    loss = (
        1.0
        - t["iou"]
        + (t["dx"] ** 2 + t["dy"] ** 2) / (t["cw"] ** 2 + t["ch"] ** 2 + eps)
        + (t["w"] - t["wg"]) ** 2 / (t["cw"] ** 2 + eps)
        + (t["h"] - t["hg"]) ** 2 / (t["ch"] ** 2 + eps)
    )
    return loss if gamma == 0 else t["iou"] ** gamma * loss


def _siou(p, g, eps, theta):
    """Gevorgyan (2022), section 2: angle, distance and shape costs."""
    t = _geometry(p, g, eps)
    dx, dy = t["dx"], t["dy"]
    sigma = math.hypot(dx, dy)
    if sigma == 0.0:
        angle_cost = 0.0  # undefined; multiplies rho_x = rho_y = 0 below
    else:
        x = abs(dy) / sigma  # sin(alpha), alpha the angle to the x axis
        if math.asin(min(x, 1.0)) > math.pi / 4:
            x = abs(dx) / sigma  # sin(beta), beta = pi/2 - alpha
        angle_cost = 1.0 - 2.0 * math.sin(math.asin(min(x, 1.0)) - math.pi / 4) ** 2
    g_ = 2.0 - angle_cost
    rho_x = dx**2 / (t["cw"] ** 2 + eps)
    rho_y = dy**2 / (t["ch"] ** 2 + eps)
    distance_cost = (1.0 - math.exp(-g_ * rho_x)) + (1.0 - math.exp(-g_ * rho_y))
    omega_w = abs(t["w"] - t["wg"]) / (max(t["w"], t["wg"]) + eps)
    omega_h = abs(t["h"] - t["hg"]) / (max(t["h"], t["hg"]) + eps)
    shape_cost = (1.0 - math.exp(-omega_w)) ** theta + (1.0 - math.exp(-omega_h)) ** theta
    return 1.0 - t["iou"] + (distance_cost + shape_cost) / 2


def _pairwise(per_pair: Callable[..., float], boxes1, boxes2, reduction, **kw) -> Any:
    b1 = np.asarray(boxes1, dtype=np.float64)
    b2 = np.asarray(boxes2, dtype=np.float64)
    lead = b1.shape[:-1]
    f1, f2 = b1.reshape(-1, 4), b2.reshape(-1, 4)
    loss = np.array([per_pair(f1[i], f2[i], **kw) for i in range(len(f1))], dtype=np.float64)
    return reduce_empty_as_zero(loss.reshape(lead), reduction)  # torchvision's box losses


def box_iou_loss_reference(boxes1, boxes2, reduction="none", eps=1e-7):
    """1 - I / (U + eps), per pair."""
    return _pairwise(_iou_loss, boxes1, boxes2, reduction, eps=eps)


def efficient_box_iou_loss_reference(boxes1, boxes2, gamma=0.0, reduction="none", eps=1e-7):
    """EIoU (Focal-EIoU for gamma > 0), per pair."""
    return _pairwise(_eiou, boxes1, boxes2, reduction, eps=eps, gamma=gamma)


def scylla_box_iou_loss_reference(boxes1, boxes2, theta=4.0, reduction="none", eps=1e-7):
    """SIoU, per pair, the angle cost in the paper's arcsin form with its pi/4 switch."""
    return _pairwise(_siou, boxes1, boxes2, reduction, eps=eps, theta=theta)


# ------------------------------------------------------------------------------------------
# MONAI's IoU as an oracle for box_iou_loss
# ------------------------------------------------------------------------------------------


def _monai_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("monai") is None or importlib.util.find_spec("torch") is None:
        return "monai is not installed"
    if dtype != "float32":
        return "MONAI's box_iou computes in float32 (box_utils.COMPUTE_DTYPE)"
    return None


def _monai_box_iou_loss(inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype):
    """1 - diag(monai.data.box_utils.box_iou(b1, b2)), reduced like the loss.

    MONAI's IoU is pairwise (N x M), in float32, with float32's machine epsilon (1.19e-7)
    added to the union where the loss's default eps is 1e-7: for the registry's boxes (unions
    of at least ~0.1, or exactly 0 with no intersection) that changes values by < 1e-7.
    """
    import torch
    from monai.data.box_utils import box_iou

    b1 = inputs["boxes1"].astype(dtype)
    b2 = inputs["boxes2"].astype(dtype)
    lead = b1.shape[:-1]
    f1, f2 = b1.reshape(-1, 4), b2.reshape(-1, 4)
    if len(f1):
        iou = box_iou(torch.from_numpy(f1), torch.from_numpy(f2)).diagonal().numpy()
    else:
        iou = np.zeros(0)
    loss = (1.0 - iou.astype(np.float64)).reshape(lead)
    return reduce_empty_as_zero(loss, kwargs.get("reduction", "none"))


_MONAI_IOU = Oracle("monai_box_iou", "monai", _monai_box_iou_loss, _monai_unavailable)

# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------

# Special pairs for the EIoU/SIoU terms (row: what it exercises).
_SPECIAL = arrays(
    boxes1=const(
        [
            [0.0, 0.0, 4.0, 2.0],  # coincident centres (2, 1), different shapes: sigma = 0
            [0.0, 0.0, 2.0, 2.0],  # same x centre (dx = 0): SIoU's |dx| at 0, angle cost 0
            [0.0, 0.0, 3.0, 1.0],  # same y centre (dy = 0)
            [0.0, 0.0, 2.0, 2.0],  # |dx| = |dy| = 1.5: the angle is pi/4, SIoU's switch
            [0.0, 0.0, 2.0, 1.0],  # equal widths (2 and 2): a tie in max(w, w_gt)
            [1.0, 0.0, 1.0, 2.0],  # two zero-width boxes on x = 1: C_w = 0, I = U = 0
            [1.0, 1.0, 1.0, 1.0],  # two identical point boxes: everything 0
            [0.0, 0.0, 1.0, 1.0],  # far apart: the exponentials saturate
        ]
    ),
    boxes2=const(
        [
            [1.0, -1.0, 3.0, 3.0],
            [0.5, 1.0, 1.5, 4.0],
            [2.0, -0.5, 4.0, 1.5],
            [1.0, 1.0, 4.0, 4.0],
            [1.0, 0.5, 3.0, 3.0],
            [1.0, 1.0, 1.0, 3.0],
            [1.0, 1.0, 1.0, 1.0],
            [5.0, 3.0, 7.0, 4.5],
        ]
    ),
)


def _coincident(shape=(2, 4)):
    """Pairs with exactly coincident centres and no ties in any max/min, shape (*shape, 4).

    Centres and half-sizes are multiples of 1/8 (exact in float32); boxes1's half-sizes are
    odd eighths and boxes2's even ones, so no two coordinates or sizes are ever equal.
    """

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        c = r.integers(0, 17, (*shape, 2)) / 8
        h1 = (2 * r.integers(0, 6, (*shape, 2)) + 1) / 8
        h2 = (2 * r.integers(1, 7, (*shape, 2))) / 8
        return {
            "boxes1": np.concatenate([c - h1, c + h1], axis=-1),
            "boxes2": np.concatenate([c - h2, c + h2], axis=-1),
        }

    return make


def _boxes_nd(shape=(2, 4)):
    """Random overlapping boxes with leading dimensions ``shape``: (*shape, 4)."""

    def one(r: np.random.Generator) -> np.ndarray:
        xy = r.uniform(0.0, 2.0, (*shape, 2))
        wh = r.uniform(0.5, 2.5, (*shape, 2))
        return np.concatenate([xy, xy + wh], axis=-1)

    return arrays(boxes1=one, boxes2=one)


_KINKS = (
    "ties in the max/min of the intersection and the enclosing box (identical boxes, shared "
    "corners), touching or zero-size boxes (the intersection's mask; a step makes a "
    "zero-width box inverted) and SIoU's angle cost 2|dx||dy|/sigma^2 at dx = 0 or dy = 0 "
    "are kinks: no central difference (tests/test_detection_extra.py checks the smooth rows)"
)
_FOCAL_KINKS = (
    _KINKS + "; Focal-EIoU's IoU^0.5 has an infinite one-sided slope where boxes start to "
    "overlap (touching boxes)"
)
_MONAI_EPS = "eps=0.5: MONAI adds its fixed epsilon (float32's, 1.19e-7) to the union"


def _box_cases(extra: list[dict]) -> list[dict]:
    return [
        base("basic", boxes(), **AOT),
        *extra,
        base("pairs", BOX_PAIRS, skip={"grad_fd": _KINKS}),
        base("empty", boxes(0)),
    ]


_IOU = entry(
    "box_iou_loss",
    _box_cases(
        [
            base("special", _SPECIAL, skip={"grad_fd": _KINKS}),
            base("batch_eps", _boxes_nd(), {"eps": 0.5}, skip={"monai_box_iou": _MONAI_EPS}),
        ]
    ),
    fn=box_iou_loss,
    reference=box_iou_loss_reference,
    oracle=None,
    grad_args=("boxes1", "boxes2"),
    extra_oracles=(_MONAI_IOU,),
)

_EIOU = entry(
    "efficient_box_iou_loss",
    _box_cases(
        [
            base("special_focal", _SPECIAL, {"gamma": 0.5}, skip={"grad_fd": _FOCAL_KINKS}),
            base("batch_focal", _boxes_nd(), {"gamma": 0.5}),
        ]
    ),
    fn=efficient_box_iou_loss,
    reference=efficient_box_iou_loss_reference,
    oracle=None,
    grad_args=("boxes1", "boxes2"),
)

_SIOU = entry(
    "scylla_box_iou_loss",
    _box_cases(
        [
            base("special", _SPECIAL, skip={"grad_fd": _KINKS}),
            base("coincident_theta2", _coincident(), {"theta": 2.0}),
        ]
    ),
    fn=scylla_box_iou_loss,
    reference=scylla_box_iou_loss_reference,
    oracle=None,
    grad_args=("boxes1", "boxes2"),
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (_IOU, _EIOU, _SIOU)
