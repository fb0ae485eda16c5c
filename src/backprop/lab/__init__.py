"""The lab: a Playground problem and a small network, trained a step at a time in the server.

``session`` holds one learner's run (``LabSession``) and what decides it (``LabConfig``);
``arithmetic`` lays out the last step for one unit or weight, with the library's numbers;
``server`` is the page's Flask app and JSON API (``backprop lab``; it imports Flask, so it is
not imported here).
"""

from .session import FEATURES, LabConfig, LabSession, features_of

__all__ = ["FEATURES", "LabConfig", "LabSession", "features_of"]
