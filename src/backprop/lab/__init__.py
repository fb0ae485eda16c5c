"""The lab: a Playground problem and a small network, trained a step at a time in the server.

``session`` holds one learner's run (``LabSession``) and what decides it (``LabConfig``).
"""

from .session import FEATURES, LabConfig, LabSession, features_of

__all__ = ["FEATURES", "LabConfig", "LabSession", "features_of"]
