"""lossbridge: loss functions written once against the Python array API.

Call a loss with NumPy, PyTorch, JAX or TensorFlow arrays (or array-api-strict, CuPy, Dask) and get
the caller's own array type, dtype and device back, with gradients flowing through the caller's
autodiff and tracing intact under ``jax.jit``, ``tf.function`` and ``torch.compile``.

``import lossbridge`` imports no framework: the framework of each call's arrays is found in
``sys.modules``.

The porting dialects are submodules, loaded on first use: :mod:`lossbridge.keras` (Keras 3 names,
``(y_true, y_pred)``, Keras reductions and clipping), :mod:`lossbridge.optax` (optax names,
unreduced outputs, ``where=`` masks), :mod:`lossbridge.nn` (``torch.nn``-style classes) and
:mod:`lossbridge.monai` (MONAI's Dice-family classes). Each maps onto the losses here and imports
no framework either.

Losses by name: :func:`get` (``lb.get("cross_entropy")``, ``lb.get("keras.Huber")``) and
:func:`available` (every core loss's name; ``available("keras")`` for a dialect's).
"""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

# public (`as`: an explicit re-export for type checkers; __all__ lists the losses only)
from lossbridge._lookup import available as available
from lossbridge._lookup import get as get
from lossbridge._reduction import mean_denominator
from lossbridge.angular_margin import arcface_loss, cosface_loss, magface_loss
from lossbridge.classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    categorical_hinge_loss,
    cross_entropy,
    generalized_cross_entropy,
    hinge_loss,
    kl_div,
    nll_loss,
    poly1_cross_entropy,
    softmax_focal_loss,
    squared_hinge_loss,
)
from lossbridge.classification_timm import (
    asymmetric_loss,
    asymmetric_loss_single_label,
    jsd_cross_entropy,
    smoothed_binary_cross_entropy,
    soft_target_cross_entropy,
)
from lossbridge.contrastive import clip_loss, siglip_loss, supcon_loss
from lossbridge.ctc import ctc_loss
from lossbridge.dense_detection import (
    distribution_focal_loss,
    probiou_loss,
    quality_focal_loss,
    varifocal_loss,
)
from lossbridge.detection import (
    box_iou_loss,
    complete_box_iou_loss,
    distance_box_iou_loss,
    efficient_box_iou_loss,
    generalized_box_iou_loss,
    scylla_box_iou_loss,
    sigmoid_focal_loss,
)
from lossbridge.embedding import (
    circle_loss,
    contrastive_loss,
    cosine_similarity_loss,
    ntxent_loss,
)
from lossbridge.forecasting import crps_ensemble_loss, crps_logistic_loss, crps_normal_loss
from lossbridge.glm import gamma_deviance_loss, poisson_deviance_loss, tweedie_deviance_loss
from lossbridge.image_quality import ms_ssim_loss, ssim_loss
from lossbridge.linear_ce import LinearCrossEntropyOptions, linear_cross_entropy
from lossbridge.lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from lossbridge.margin import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from lossbridge.regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    log_cosh_loss,
    mape_loss,
    mse_loss,
    msle_loss,
    poisson_nll_loss,
    quantile_loss,
    rmse_loss,
    smooth_l1_loss,
)
from lossbridge.regularization import (
    elastic_net_regularization,
    l1_regularization,
    l2_regularization,
)
from lossbridge.sampled import nce_loss, sampled_softmax_loss
from lossbridge.segmentation import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss

#: The version: its one source (pyproject.toml reads it; CHANGELOG.md has its section).
__version__ = "0.1.0"


def _skip_autograph(names: list[str]) -> None:
    """Mark the public losses so TensorFlow's AutoGraph calls them as they are.

    Inside ``tf.function``, AutoGraph re-parses and converts every Python function it meets,
    which took seconds per loss on the first trace; the losses have no control flow on tensor
    values to convert. AutoGraph calls any function carrying ``autograph_info__`` unconverted
    (``is_autograph_artifact`` in ``tensorflow/python/autograph/impl/api.py``), and an attribute
    needs no TensorFlow import.
    """
    for name in names:
        globals()[name].autograph_info__ = {}


__all__ = [
    "LinearCrossEntropyOptions",
    "arcface_loss",
    "asymmetric_loss",
    "asymmetric_loss_single_label",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "box_iou_loss",
    "categorical_hinge_loss",
    "circle_loss",
    "clip_loss",
    "complete_box_iou_loss",
    "contrastive_loss",
    "cosface_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "cross_entropy",
    "crps_ensemble_loss",
    "crps_logistic_loss",
    "crps_normal_loss",
    "ctc_loss",
    "dice_loss",
    "distance_box_iou_loss",
    "distribution_focal_loss",
    "efficient_box_iou_loss",
    "elastic_net_regularization",
    "focal_tversky_loss",
    "gamma_deviance_loss",
    "gaussian_nll_loss",
    "generalized_box_iou_loss",
    "generalized_cross_entropy",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "jaccard_loss",
    "jsd_cross_entropy",
    "kl_div",
    "l1_loss",
    "l1_regularization",
    "l2_regularization",
    "linear_cross_entropy",
    "log_cosh_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "magface_loss",
    "mape_loss",
    "margin_ranking_loss",
    "mean_denominator",
    "ms_ssim_loss",
    "mse_loss",
    "msle_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nce_loss",
    "nll_loss",
    "ntxent_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "poisson_deviance_loss",
    "poly1_cross_entropy",
    "probiou_loss",
    "quality_focal_loss",
    "quantile_loss",
    "rmse_loss",
    "sampled_softmax_loss",
    "scylla_box_iou_loss",
    "siglip_loss",
    "sigmoid_focal_loss",
    "smooth_l1_loss",
    "smoothed_binary_cross_entropy",
    "soft_margin_loss",
    "soft_target_cross_entropy",
    "softmax_focal_loss",
    "squared_hinge_loss",
    "ssim_loss",
    "supcon_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "tversky_loss",
    "tweedie_deviance_loss",
    "varifocal_loss",
]

_skip_autograph(__all__)

#: The porting dialects, importable as ``lossbridge.keras`` etc. and loaded on first access.
DIALECTS = ("keras", "optax", "nn", "monai", "tfa")


if TYPE_CHECKING:  # the dialects' types for type checkers; imported on first use at run time
    from lossbridge import distributed as distributed
    from lossbridge import keras as keras
    from lossbridge import monai as monai
    from lossbridge import nn as nn
    from lossbridge import optax as optax
    from lossbridge import tfa as tfa


def __getattr__(name: str) -> ModuleType:
    """``lossbridge.keras``, ``lossbridge.optax``, ``lossbridge.nn``, ``lossbridge.monai`` and
    ``lossbridge.distributed``: imported on first use."""
    if name in DIALECTS or name == "distributed":
        return importlib.import_module(f"lossbridge.{name}")
    raise AttributeError(f"module 'lossbridge' has no attribute {name!r}")
