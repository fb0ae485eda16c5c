"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, drop-in, on backprop's own layers and losses.

Change one import and a pipeline trains on backprop::

    from backprop.sklearn import NeuralNetClassifier as MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, early_stopping=True)
    clf.fit(x_train, y_train).score(x_test, y_test)
    bp.explain(clf.model_, ...)          # the trained network is an ordinary backprop model

The constructor parameters, their defaults and meanings, the fitted attributes (``coefs_``,
``intercepts_``, ``loss_curve_``, ``n_iter_``, ``validation_scores_``, ...) and the training
procedure are scikit-learn's: Glorot's start drawn from ``random_state`` as scikit-learn draws
it, the same shuffles and early-stopping split, ``tol`` and ``n_iter_no_change`` judged on the
training loss or the validation score, the ``constant``/``invscaling``/``adaptive`` schedules,
``lbfgs`` through SciPy's L-BFGS-B, multi-label targets, sparse input and ``sample_weight``.
scikit-learn's own ``test_mlp.py`` runs on these classes in the test suite
(``tests/test_sklearn_mlp_suite.py``). The forward and backward passes, the losses and the
optimisers are backprop's, written out by hand; ``model_`` is the ``bp.Sequential`` they train.

``estimator.py`` holds the parameters, the network and the attributes both share, ``solvers.py``
the two ways of training it, ``classifier.py`` and ``regressor.py`` the targets of each.
"""

from .classifier import NeuralNetClassifier
from .regressor import NeuralNetRegressor

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]
