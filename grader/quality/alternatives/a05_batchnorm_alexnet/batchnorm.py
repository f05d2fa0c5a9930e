"""Alternative a05 batch normalization, correct but written differently from the reference: a cache of
inputs instead of intermediates, torch.var_mean, a backward through each feature's explicit Jacobian,
lerp for the running statistics, and spatial layers that broadcast over (1, C, 1, 1) instead of
reusing the 1-D functions. The grader must give them full marks."""
import torch


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=0, unbiased=False)
    xhat = (x - mean) * torch.rsqrt(var + eps)
    return xhat * gamma + beta, (x, gamma, eps)


def _normalized(cache):
    x, gamma, eps = cache
    var, mean = torch.var_mean(x, dim=0, unbiased=False)
    ivar = torch.rsqrt(var + eps)
    return (x - mean) * ivar, ivar, gamma


def batchnorm_backward(dout, cache):
    xhat, ivar, gamma = _normalized(cache)
    n, d = dout.shape
    eye = torch.eye(n, dtype=dout.dtype, device=dout.device)
    dx = torch.empty_like(dout)
    for k in range(d):  # d xhat_i / d x_j = ivar (delta_ij - 1/N - xhat_i xhat_j / N), a symmetric matrix
        jacobian = gamma[k] * ivar[k] * (eye - 1.0 / n - torch.outer(xhat[:, k], xhat[:, k]) / n)
        dx[:, k] = jacobian @ dout[:, k]
    return dx, (dout * xhat).sum(0), dout.sum(0)


def batchnorm_backward_alt(dout, cache):
    xhat, ivar, gamma = _normalized(cache)
    dx = gamma * ivar * (dout - dout.mean(0) - xhat * (dout * xhat).mean(0))
    return dx, (xhat * dout).sum(0), dout.sum(0)


def batchnorm_running_stats(x, running_mean, running_var, momentum=0.1):
    var, mean = torch.var_mean(x, dim=0, unbiased=True)
    return torch.lerp(running_mean, mean, momentum), torch.lerp(running_var, var, momentum)


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return (x - running_mean) * torch.rsqrt(running_var + eps) * gamma + beta


def _per_channel(x):
    return x.transpose(0, 1).reshape(x.shape[1], -1)  # (C, N*H*W)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(_per_channel(x), dim=1, unbiased=False)
    ivar = torch.rsqrt(var + eps)
    xhat = (x - mean.view(1, -1, 1, 1)) * ivar.view(1, -1, 1, 1)
    return gamma.view(1, -1, 1, 1) * xhat + beta.view(1, -1, 1, 1), (xhat, ivar, gamma)


def spatial_batchnorm_backward(dout, cache):
    xhat, ivar, gamma = cache
    m = dout.numel() // dout.shape[1]
    dbeta, dgamma = dout.sum((0, 2, 3)), (dout * xhat).sum((0, 2, 3))
    scale = (gamma * ivar / m).view(1, -1, 1, 1)
    dx = scale * (m * dout - dbeta.view(1, -1, 1, 1) - xhat * dgamma.view(1, -1, 1, 1))
    return dx, dgamma, dbeta


def spatial_batchnorm_running_stats(x, running_mean, running_var, momentum=0.1):
    var, mean = torch.var_mean(_per_channel(x), dim=1, unbiased=True)
    return running_mean + momentum * (mean - running_mean), running_var + momentum * (var - running_var)


def spatial_batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    scale = gamma / torch.sqrt(running_var + eps)
    return x * scale.view(1, -1, 1, 1) + (beta - running_mean * scale).view(1, -1, 1, 1)
