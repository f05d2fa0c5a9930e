"""Leave a thread and a detached daemon process running after the task (with the right answer)."""
import os
import threading
import time

import torch


def _linger():
    while True:
        time.sleep(0.05)


def softplus_backward(dout, cache):
    threading.Thread(target=_linger, daemon=True).start()
    try:
        if os.fork() == 0:  # double fork and a new session: a classic daemon
            os.setsid()
            if os.fork() == 0:
                _linger()
            os._exit(0)
    except OSError:
        pass
    x = cache
    z = torch.exp(-x.abs())
    sig = torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return dout * sig
