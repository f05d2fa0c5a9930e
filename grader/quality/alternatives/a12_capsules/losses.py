"""Other correct ways to write a12's losses: the margin loss with torch.where and a loop over the batch,
the decoder and its backward keeping pre-activations and a one-hot by scatter."""
import torch


def margin_loss(v, y, m_plus=0.9, m_minus=0.1, lam=0.5):
    n, j, _ = v.shape
    loss = v.new_zeros(())
    dv = torch.zeros_like(v)
    for k in range(n):
        length = torch.linalg.vector_norm(v[k], dim=1)
        for cls in range(j):
            if cls == int(y[k]):
                gap = m_plus - length[cls]
                if gap > 0:
                    loss = loss + gap * gap
                    dv[k, cls] = -2 * gap * v[k, cls] / length[cls]
            else:
                gap = length[cls] - m_minus
                if gap > 0:
                    loss = loss + lam * gap * gap
                    dv[k, cls] = 2 * lam * gap * v[k, cls] / length[cls]
    return loss / n, dv / n


def decoder_forward(v, y, params):
    onehot = torch.zeros(v.shape[0], v.shape[1], dtype=v.dtype, device=v.device).scatter_(1, y[:, None], 1.0)
    h = (v * onehot[:, :, None]).flatten(1)
    zs, hs = [], [h]
    for l, (w, b) in enumerate(params):
        z = torch.addmm(b, h, w)
        zs.append(z)
        h = torch.sigmoid(z) if l == len(params) - 1 else torch.where(z > 0, z, torch.zeros_like(z))
        hs.append(h)
    return h, (onehot, zs, hs)


def reconstruction_loss(v, y, images, params, scale=0.0005):
    out, (onehot, zs, hs) = decoder_forward(v, y, params)
    n = images.shape[0]
    loss = ((out - images) ** 2).sum() * scale / n
    dh = 2 * scale * (out - images) / n
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        dz = dh * out * (1 - out) if l == len(params) - 1 else dh * (zs[l] > 0).to(dh.dtype)
        grads[l] = (hs[l].T @ dz, dz.sum(0))
        dh = dz @ params[l][0].T
    dv = dh.reshape(v.shape) * onehot[:, :, None]
    return loss, dv, grads
