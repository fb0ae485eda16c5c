"""backprop's estimators in place of scikit-learn's MLPClassifier: one import changes.

A pipeline in cross-validation and grid search on the 1,797 embedded 8x8 digits, written for
``sklearn.neural_network.MLPClassifier`` and run on backprop's. Run from the repository root:

    python examples/sklearn_digits.py
"""

from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import backprop as bp
from backprop.sklearn import NeuralNetClassifier as MLPClassifier  # was: from sklearn.neural_network

x, y = bp.datasets.load_digits(flatten=True)  # (1797, 64) float32, labels 0..9

mlp = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01, early_stopping=True, random_state=0)
pipeline = make_pipeline(StandardScaler(), mlp)
scores = cross_val_score(pipeline, x, y, cv=3)
print(f"cross_val_score mean accuracy: {scores.mean():.3f}")

(x_train, y_train), (x_test, y_test) = bp.datasets.train_test_split(x, y, test_fraction=0.2, seed=0)
grid = {"neuralnetclassifier__hidden_layer_sizes": [(16,), (128,)]}
search = GridSearchCV(pipeline, grid, cv=3).fit(x_train, y_train)
print(f"GridSearchCV best parameters: {search.best_params_}")
print(f"GridSearchCV test accuracy: {search.score(x_test, y_test):.3f}")

best = search.best_estimator_[-1]
print(f"epochs: {best.n_iter_}, best validation accuracy: {best.best_validation_score_:.3f}")
print(f"trained network: {best.model_}")  # a bp.Sequential: bp.save, bp.explain, bp.predict take it
