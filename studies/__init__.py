"""One module per study; run each with `python -m studies.NAME`.

Studies are command-line programs: TensorFlow's C++ start-up chatter is turned
off here, before any study imports TensorFlow (set TF_CPP_MIN_LOG_LEVEL=0 to see it).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
