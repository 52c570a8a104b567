"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on validation logits, divides logits at serving.

A single parameter cannot change which class wins (accuracy is untouched) but fixes the over-confidence deep
networks typically show, which matters because the confidence drives the "needs careful review" flag.
"""

from __future__ import annotations

import math

import numpy as np

_T_MIN, _T_MAX = 0.05, 20.0


def softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax of ``logits / temperature`` along the last axis, in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, *, temperature: float = 1.0) -> float:
    """Mean NLL of integer ``labels`` under the temperature-scaled softmax: the quantity the fit minimises."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    labels = np.asarray(labels, dtype=np.int64)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def temperature_fit(logits: np.ndarray, labels: np.ndarray, *, iterations: int = 100) -> float:
    """Fit T > 0 minimising validation NLL by golden-section search on log T.

    NLL is unimodal in T for a fixed set of logits, so a bracketing search is exact enough and needs neither
    SciPy nor TensorFlow; ``iterations`` of 100 shrinks the bracket below 1e-20 of its width.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError("temperature_fit needs logits of shape (n, classes) and n integer labels, n > 0")
    low, high = math.log(_T_MIN), math.log(_T_MAX)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits, labels, temperature=math.exp(log_t))

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = loss(a), loss(b)
    for _ in range(iterations):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = loss(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = loss(b)
    return float(math.exp((low + high) / 2))
