"""Modelling assumptions shared by every derivation of the optimizer's statistics.

Each is recorded on the steps that use it, and the documents list them with those steps. They
are what algebra cannot prove: the simulation measures their effect.
"""

from __future__ import annotations

from ..steps import Assumption

__all__ = ["IID_IN_TIME", "NO_BIAS_CORRECTION", "NO_EPSILON", "SELF_AVERAGING"]

IID_IN_TIME = Assumption(
    "iid_gradients",
    "the gradients are independent across steps and identically distributed, "
    "$g_j \\sim \\mathcal{N}(\\mu, \\sigma^2)$ per coordinate (no dependence on the weights)",
    r"\boldsymbol{g}_j \overset{\mathrm{iid}}{\sim} "
    r"\mathcal{N}(\boldsymbol{\mu}, \boldsymbol{\sigma}^2)",
)
SELF_AVERAGING = Assumption(
    "self_averaging",
    "the realised RMS over the coordinates equals its expectation (many coordinates: the "
    "coordinate average of a squared quantity is replaced by its mean)",
    r"\Vert\boldsymbol{x}\Vert_{\mathrm{RMS}}^2 \approx "
    r"\mathbb{E}\,\Vert\boldsymbol{x}\Vert_{\mathrm{RMS}}^2",
)
NO_BIAS_CORRECTION = Assumption(
    "no_bias_correction",
    "the update uses the raw moments $\\boldsymbol{m}_t$ and $\\boldsymbol{v}_t$, without "
    "Adam's bias correction $1/(1 - \\beta^t)$",
    r"\boldsymbol{u}_t = \boldsymbol{m}_t/\sqrt{\boldsymbol{v}_t}",
)
NO_EPSILON = Assumption(
    "no_epsilon",
    "Adam's $\\epsilon$ is 0 (it is negligible next to $\\sqrt{\\boldsymbol{v}_t}$)",
    r"\epsilon = 0",
)
