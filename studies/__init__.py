"""One module per study; run each with `python -m studies.NAME`.

Studies are command-line programs: TensorFlow's start-up chatter is dropped
here, before any study imports Keras (see `kerashp.quiet`; set
KERASHP_TF_STARTUP_LOG=1 and TF_CPP_MIN_LOG_LEVEL=0 to see it).
"""

from kerashp.quiet import import_keras_quietly

import_keras_quietly()
