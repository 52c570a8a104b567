"""mlcore: OCT B-scan classification (InceptionV3), explanations, calibration and triage.

TensorFlow's C++ logging level is read once when its library loads; setting it here, before any mlcore module
can import TensorFlow, keeps worker and test logs readable.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
