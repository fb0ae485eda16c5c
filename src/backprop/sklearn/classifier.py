"""``NeuralNetClassifier``: scikit-learn's ``MLPClassifier`` on backprop's layers and losses."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..losses import Loss, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from .estimator import PARAMETERS, NeuralNet, stochastic


class NeuralNetClassifier(ClassifierMixin, NeuralNet):
    __doc__ = f"""A neural-network classifier, scikit-learn's ``MLPClassifier`` on backprop.

    Labels may be integers or strings, one per sample, or an indicator matrix ``(n, K)`` of K
    yes/no labels (multi-label). ``classes_`` holds them sorted (``0 .. K-1`` for multi-label)
    and the columns of ``predict_proba`` follow that order.

    - More than two classes: one logit per class, ``SoftmaxCrossEntropy``
      (``out_activation_ = "softmax"``); ``predict`` is the class of largest probability.
    - Two classes: one logit, ``SigmoidBinaryCrossEntropy`` (``"logistic"``); ``predict_proba``
      is ``[1 - p, p]``.
    - Multi-label: one logit per label, ``SigmoidBinaryCrossEntropy`` summed over the labels;
      ``predict`` returns the indicator matrix ``p > 0.5``.
{PARAMETERS}"""

    #: The labels, sorted (``0 .. K-1`` for multi-label): set by ``fit``.
    classes_: np.ndarray

    def _loss(self) -> tuple[Loss, float]:
        if self.out_activation_ == "softmax":
            return SoftmaxCrossEntropy(), 1.0
        # the mean over the n K logits, times K: summed over the labels, averaged over the samples
        return SigmoidBinaryCrossEntropy(), float(self.n_outputs_)

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> NeuralNetClassifier:
        """Train on ``(X, y)``: ``max_iter`` epochs at most (from the fitted weights with ``warm_start``)."""
        self._fit(X, y, sample_weight, incremental=False)
        return self

    @available_if(stochastic)
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> NeuralNetClassifier:
        """One epoch over ``(X, y)``; the first call must name every class in ``classes``."""
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(
                "NeuralNetClassifier.partial_fit: the first call must pass classes=, every label the"
                " classifier will see (the network has one output per class)"
            )
        if classes is not None:
            classes = cast(np.ndarray, unique_labels(classes))  # scikit-learn is untyped
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"NeuralNetClassifier.partial_fit: classes={classes.tolist()} differ from those of"
                    f" the first call, {self.classes_.tolist()}"
                )
        if first:
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
            self.classes_ = self._label_binarizer.classes_
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool, reset: bool
    ) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """``X``; the targets (class positions for softmax, a 0/1 matrix for the sigmoid outputs);
        and the labels a validation split is stratified by (None for multi-label)."""
        X, y = self._check_data(X_in, y_in, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or not (self.warm_start or incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the previous"
                    f" call to fit. Previously got {self.classes_}, `y` has {classes}"
                )
            unknown = np.setdiff1d(classes, self.classes_)
            if len(unknown):
                raise ValueError(
                    f"NeuralNetClassifier: labels {unknown.tolist()} are not among the classes it was"
                    f" first fitted on, {self.classes_.tolist()}"
                )
        kind = self._label_binarizer.y_type_
        if reset:
            self.out_activation_ = "softmax" if kind == "multiclass" else "logistic"
        if kind == "multiclass":
            return X, np.searchsorted(self.classes_, y).astype(np.int64), y
        indicator = self._label_binarizer.transform(y).astype(X.dtype)
        # binary: stratified by the (n, 1) boolean column, as scikit-learn's split is (its errors
        # then name the classes 'False' and 'True')
        return X, indicator, (indicator > 0 if kind == "binary" else None)

    def _validation_score(self, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        """Accuracy on held-out ``(X, Y)`` (subset accuracy for multi-label), as ``score``."""
        probabilities = self._forward(X)
        if self.out_activation_ == "softmax":
            predicted = np.argmax(probabilities, axis=1)
        else:
            predicted = (probabilities > 0.5).astype(Y.dtype)
            if self.n_outputs_ == 1:
                Y, predicted = Y[:, 0], predicted[:, 0]
        return float(accuracy_score(Y, predicted, sample_weight=sample_weight))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The class of each sample (the indicator matrix for multi-label), one of ``classes_``."""
        probabilities = self._outputs(X)
        if self.n_outputs_ == 1:
            probabilities = probabilities[:, 0]
        return self._label_binarizer.inverse_transform(probabilities)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """``(n_samples, n_classes)`` probabilities, columns in the order of ``classes_``: the
        softmax, ``[1 - p, p]`` for two classes, each label's own ``p`` for multi-label."""
        probabilities = self._outputs(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - probabilities, probabilities])
        return probabilities

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """The logarithm of ``predict_proba``."""
        probabilities = self.predict_proba(X)
        return np.log(probabilities, out=probabilities)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
