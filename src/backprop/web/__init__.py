"""The draw-a-digit page: ``backprop serve RUN_OR_MODEL``.

``drawing.py`` checks a drawing and answers it (the probabilities, the image as the network
sees it, every hidden layer's activations) with NumPy alone; ``server.py`` serves that and
the static page (``static/``: plain HTML, CSS and JavaScript) with Flask, which only
``backprop serve`` imports (``pip install 'backprop[web]'``).
"""
