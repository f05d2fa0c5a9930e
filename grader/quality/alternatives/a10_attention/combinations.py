"""Alternative a10 combinations: attention pooling by einsum with its backward recomputed from the inputs,
hierarchical attention looping over sentences, attention over attention written per example with explicit
transposes, multi-step attention with the values' gradient split in two. The grader must give them full marks."""
import torch


def hierarchical_attention_forward(h, mask, Ww, bw, uw, Ws, bs, us):
    n, s, t, d = h.shape
    sents, word_alphas, caches = [], [], []
    for j in range(s):
        v, a, c = attention_pooling_forward(h[:, j], Ww, bw, uw, mask[:, j])
        sents.append(v)
        word_alphas.append(a)
        caches.append(c)
    v, sent_alpha, sent_cache = attention_pooling_forward(torch.stack(sents, 1), Ws, bs, us)
    return v, torch.stack(word_alphas, 1), sent_alpha, (caches, sent_cache)


def hierarchical_attention_backward(dv, cache):
    caches, sent_cache = cache
    dsent, dWs, dbs, dus = attention_pooling_backward(dv, sent_cache)
    dhs, dWw, dbw, duw = [], 0, 0, 0
    for j, c in enumerate(caches):
        dh, dW, db, du = attention_pooling_backward(dsent[:, j], c)
        dhs.append(dh)
        dWw, dbw, duw = dWw + dW, dbw + db, duw + du
    return torch.stack(dhs, 1), dWw, dbw, duw, dWs, dbs, dus


def attention_over_attention_forward(d, q):
    outs, cache = [], []
    for i in range(d.shape[0]):
        m = d[i] @ q[i].T  # (Ld, Lq)
        alpha = torch.softmax(m.T, dim=1).T  # each column a distribution over the document
        beta = torch.softmax(m, dim=1)
        beta_bar = beta.sum(0) / m.shape[0]
        outs.append(alpha @ beta_bar)
        cache.append((alpha, beta, beta_bar))
    return torch.stack(outs), (d, q, cache)


def attention_over_attention_backward(ds, cache):
    d, q, per = cache
    dds, dqs = [], []
    for i, (alpha, beta, beta_bar) in enumerate(per):
        dalpha = torch.outer(ds[i], beta_bar)
        dbeta = (alpha.T @ ds[i]).expand(alpha.shape[0], -1) / alpha.shape[0]
        dm = (alpha * (dalpha - (alpha * dalpha).sum(0, keepdim=True))
              + beta * (dbeta - (beta * dbeta).sum(1, keepdim=True)))
        dds.append(dm @ q[i])
        dqs.append(dm.T @ d[i])
    return torch.stack(dds), torch.stack(dqs)


def multistep_attention_forward(h, g, z, e, params):
    attn, states = [], []
    for Wd, bd in params:
        scores = torch.einsum("ntc,nsc->nts", h @ Wd + bd + g, z)
        a = torch.softmax(scores, dim=-1)
        states.append((h, Wd, bd, a))
        attn.append(a)
        h = h + torch.einsum("nts,nsc->ntc", a, z) + torch.einsum("nts,nsc->ntc", a, e)
    return h, torch.stack(attn), (g, z, e, states)


def multistep_attention_backward(dout, cache):
    g, z, e, states = cache
    dh, dg, dz, de = dout, 0, 0, 0
    dparams = []
    for h, Wd, bd, a in states[::-1]:
        de = de + torch.einsum("nts,ntc->nsc", a, dh)
        dz = dz + torch.einsum("nts,ntc->nsc", a, dh)
        da = torch.einsum("ntc,nsc->nts", dh, z + e)
        dscores = a * (da - (a * da).sum(-1, keepdim=True))
        dquery = torch.einsum("nts,nsc->ntc", dscores, z)
        dz = dz + torch.einsum("nts,ntc->nsc", dscores, h @ Wd + bd + g)
        dg = dg + dquery
        dparams.insert(0, (torch.einsum("ntc,ntk->ck", h, dquery), dquery.sum((0, 1))))
        dh = dh + dquery @ Wd.T
    return dh, dg, dz, de, dparams


def attention_pooling_forward(h, W, b, u, mask=None):
    scores = torch.einsum("nta,a->nt", torch.tanh(torch.einsum("ntd,da->nta", h, W) + b), u)
    if mask is not None:
        scores = torch.where(mask, scores, torch.full_like(scores, float("-inf")))
    alpha = torch.softmax(scores, dim=1)
    return torch.einsum("nt,ntd->nd", alpha, h), alpha, (h, W, b, u, alpha)


def attention_pooling_backward(ds, cache):
    h, W, b, u, alpha = cache
    t = torch.tanh(h @ W + b)
    dalpha = torch.einsum("ntd,nd->nt", h, ds)
    dscores = alpha * (dalpha - torch.einsum("nt,nt->n", alpha, dalpha)[:, None])
    dpre = torch.einsum("nt,a,nta->nta", dscores, u, 1 - t * t)
    dh = torch.einsum("nt,nd->ntd", alpha, ds) + torch.einsum("nta,da->ntd", dpre, W)
    return dh, torch.einsum("ntd,nta->da", h, dpre), dpre.sum((0, 1)), torch.einsum("nta,nt->a", t, dscores)
