"""A tensorflow-datasets builder for tests (tfds needs its builders inside a package)."""
