"""The training engine: U-Net, data, training generator, prediction. No Qt here, ever.

Importing this package does not import torch (its modules do). It sets one default for the
OpenMP runtime that torch loads: idle worker threads sleep instead of spinning. By default
they spin at every barrier, which is fine on an idle machine but, when anything else wants a
core (the app's own window, a browser, another program), makes each training step wait for a
descheduled spinner, several times slower per step on a busy machine with few cores. An
explicit OMP_WAIT_POLICY in the environment wins.
It only takes effect if torch was not imported before this package.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
