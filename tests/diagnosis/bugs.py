"""A held-out table of realistic student bugs, each labelled with the kind of mistake it truly is.

Every bug is a one-line edit of a reference solution (``old`` occurs exactly once in
``reference/<aid>/<file>``), written by hand for this table: not one of the audit's mutants and not
one of the seeded bugs of the assignments' own tests. ``task`` is the task whose function the edit
is in (for a forward bug, the forward task), ``check`` the output or gradient of that task that
the bug breaks and where its kind shows (``inputs_unchanged`` for an input changed in place),
``kind`` the true :class:`DiagnosisKind` of the mistake (never a location kind), ``why`` what the
student did.

The table is the yardstick of the diagnoses: tests/diagnosis/test_kinds.py grades each bug alone
and counts how often the failing check's diagnoses name the true kind.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.results import DiagnosisKind as K


@dataclass(frozen=True)
class Bug:
    aid: str     # assignment folder: a01_neurons ... a13_graphs
    file: str    # the reference file the edit is in, relative to the assignment folder
    old: str     # one line (or part of one) of that file, occurring exactly once in it
    new: str     # what the student wrote instead
    task: str    # the task whose function the edit is in
    check: str   # the output or gradient of that task the bug breaks (inputs_unchanged: in place)
    kind: K      # the true kind of the mistake
    why: str     # the bug, for people

    @property
    def name(self) -> str:
        return f"{self.task}.{self.check}:{self.kind.value}"


A01, A02, A03, A04 = "a01_neurons", "a02_mlp_backprop", "a03_neuroevolution", "a04_cnn"
A05, A06, A07, A08 = "a05_batchnorm_alexnet", "a06_energy_models", "a07_autoencoders_dbn", "a08_unsupervised"
A09, A10, A11, A12, A13 = "a09_recurrent", "a10_attention", "a11_transformer", "a12_capsules", "a13_graphs"

BUGS: list[Bug] = [
    # a01: neurons and learning rules
    Bug(A01, "rules.py", "mistakes = torch.zeros((), dtype=torch.int64, device=x.device)",
        "mistakes = torch.zeros((), device=x.device)", "a01.perceptron_epoch", "mistakes", K.DTYPE,
        "the mistake counter made without dtype=int64: a float32 count"),
    Bug(A01, "rules.py", "delta = (t - y) * y * (1.0 - y)  # (N,)", "delta = (t - y) * (1.0 - y * y)  # (N,)",
        "a01.sigmoid_delta_step", "w", K.ACTIVATION,
        "tanh's derivative 1 - y^2 where the sigmoid's y (1 - y) belongs"),
    Bug(A01, "hopfield.py", "w = patterns.T @ patterns / u  # (U, U)",
        "w = patterns.T @ patterns / patterns.shape[0]  # (U, U)", "a01.hopfield_weights", "w", K.SCALE,
        "the outer products divided by the number of patterns P instead of the number of units U"),
    Bug(A01, "hopfield.py", "    s = s.clone()\n", "", "a01.hopfield_update", "inputs_unchanged", K.IN_PLACE,
        "the states updated unit by unit in the caller's own tensor (the clone left out)"),

    # a02: MLP and backpropagation
    Bug(A02, "layers.py", "dx = dout * (1.0 - out * out)", "dx = dout * (1.0 - out)", "a02.tanh_backward", "dx",
        K.ACTIVATION, "tanh' written as 1 - tanh(x) instead of 1 - tanh(x)^2"),
    Bug(A02, "layers.py", "dx = dout * (x > 0).to(dout.dtype)", "dx = dout * (dout > 0).to(dout.dtype)",
        "a02.relu_backward", "dx", K.WRONG_INPUT, "the ReLU's gate taken from the upstream gradient, not from x"),
    Bug(A02, "layers.py", "diff = pred - target  # (N, K)", "diff = target - pred  # (N, K)", "a02.mse_loss",
        "dpred", K.SIGN, "the error taken as target - pred: the loss is the same, its gradient has the wrong sign"),
    Bug(A02, "layers.py", "    dscores = dscores / n\n", "    dscores = dscores / scores.shape[1]\n",
        "a02.softmax_cross_entropy", "dscores", K.SCALE,
        "the gradient divided by the number of classes C instead of the batch size N"),
    Bug(A02, "layers.py", "loss = 0.5 * (diff * diff).sum() / n", "loss = 0.5 * (diff * diff).mean()",
        "a02.mse_loss", "loss", K.SCALE, "the squared error averaged over all N*K entries instead of over N"),

    # a03: neuroevolution
    Bug(A03, "ga.py", "mutants = genomes + sigma * noise * (u < rate).to(genomes.dtype)  # (n, L)",
        "mutants = genomes + sigma * noise  # (n, L)", "a03.gaussian_mutation", "mutants", K.MASK,
        "every gene mutated: the u < rate mask ignored"),
    Bug(A03, "ga.py", "child1 = torch.where(mask, a, b)  # (n, L)", "child1 = torch.where(~mask, a, b)  # (n, L)",
        "a03.uniform_crossover", "child1", K.MASK, "the crossover mask inverted for the first child"),
    Bug(A03, "ga.py", "genes = torch.arange(a.shape[1], device=a.device)  # (L,)",
        "genes = torch.arange(1, a.shape[1] + 1, device=a.device)  # (L,)", "a03.one_point_crossover", "child1",
        K.OFF_BY_ONE, "the genes numbered from 1: every cut one gene early"),
    Bug(A03, "ga.py", "    for _ in range(generations):\n", "    for _ in range(generations - 1):\n", "a03.evolve",
        "population", K.OFF_BY_ONE, "one generation too few"),

    # a04: convolutional networks
    Bug(A04, "conv.py", "out = x.new_empty(n, f, h_out, w_out)", "out = torch.empty(n, f, h_out, w_out)",
        "a04.conv_forward_naive", "out", K.DTYPE, "the output allocated with torch.empty: float32, not x's float64"),
    Bug(A04, "conv.py", "out[:, :, i, j] = patch.reshape(n, -1) @ w_row.T + b  # (N, F)",
        "out[:, :, i, j] = patch.reshape(n, -1) @ w_row.T  # (N, F)", "a04.conv_forward_naive", "out",
        K.MISSING_TERM, "the bias left out of the naive convolution"),
    Bug(A04, "conv.py", "dx_pad[:, :, rows, cols] += (d @ w_row).reshape(n, c, hh, ww)",
        "dx_pad[:, :, rows, cols] -= (d @ w_row).reshape(n, c, hh, ww)", "a04.conv_backward_naive", "dx", K.SIGN,
        "the input gradient accumulated with -= instead of +="),
    Bug(A04, "conv.py", "db = dout.sum(dim=(0, 2, 3))  # (F,)", "db = dout.sum(dim=(2, 3))  # (F,)",
        "a04.conv_backward_naive", "db", K.MISSING_SUM,
        "the bias gradient summed over positions but not over the batch"),
    Bug(A04, "conv.py", "dw = (d @ cols.transpose(1, 2)).sum(dim=0).reshape(w.shape)",
        "dw = (d @ cols.transpose(1, 2)).mean(dim=0).reshape(w.shape)", "a04.conv_backward", "dw", K.SCALE,
        "the per-example filter gradients averaged over the batch instead of summed"),

    Bug(A04, "layers.py", "db = dout.sum(dim=0)  # (M,)", "db = dout.sum(dim=0, keepdim=True)  # (M,)",
        "a04.affine_backward", "db", K.KEEPDIM, "the bias gradient kept as a (1, M) row"),

    # a05: batch normalization and AlexNet
    Bug(A05, "batchnorm.py", "dx = dx1 + dx2  # (N, D)", "dx = dx1  # (N, D)", "a05.batchnorm_backward", "dx",
        K.MISSING_TERM, "the gradient through the batch mean left out"),
    Bug(A05, "batchnorm.py", "dx = ivar / n * (n * dxhat", "dx = ivar * (n * dxhat", "a05.batchnorm_backward_alt",
        "dx", K.SCALE, "the closed form without its 1/N"),
    Bug(A05, "batchnorm.py", "out = gamma * (x - running_mean) / torch.sqrt(running_var + eps) + beta  # (N, D)",
        "out = gamma * (x - running_mean) / torch.sqrt(running_var + eps)  # (N, D)", "a05.batchnorm_inference",
        "out", K.MISSING_TERM, "the shift beta left out at inference"),
    Bug(A05, "layers.py", "dx = dout if mask is None else dout * mask", "dx = dout", "a05.dropout_backward", "dx",
        K.MASK, "dropout not applied in the backward: the gradient passes every unit (the mask ignored)"),
    Bug(A05, "layers.py", "mask = (noise >= p).to(x.dtype) / (1.0 - p)", "mask = (noise >= p).to(x.dtype)",
        "a05.dropout_forward", "out", K.SCALE, "plain dropout: the kept units not rescaled by 1 / (1 - p)"),
    Bug(A05, "layers.py", "dx = dout * scale ** -beta - 2.0 * alpha * beta * x * through_sum",
        "dx = dout * scale ** -beta", "a05.lrn_backward", "dx", K.MISSING_TERM,
        "the gradient through the neighbours' normalisers left out"),

    # a06: energy-based models
    Bug(A06, "rbm.py", "dw = (v0.T @ ph0 - v.T @ phk) / n  # (D, H)", "dw = (v.T @ phk - v0.T @ ph0) / n  # (D, H)",
        "a06.rbm_cd_k", "dw", K.SIGN, "the negative phase minus the positive one: a descent direction"),
    Bug(A06, "rbm.py", "phk = rbm_p_h_given_v(v, w, b)", "phk = rbm_p_h_given_v(v0, w, b)", "a06.rbm_cd_k", "dw",
        K.WRONG_INPUT, "the negative statistics' hidden probabilities computed from the data v0, not from vk"),
    Bug(A06, "cf_rbm.py", "x = rated.reshape(v.shape[0], -1) @ w.reshape(-1, w.shape[2]) + b  # (N, F)",
        "x = rated.reshape(v.shape[0], -1) @ w.reshape(-1, w.shape[2])  # (N, F)", "a06.cf_p_h_given_v", "p",
        K.MISSING_TERM, "the hidden biases left out"),
    Bug(A06, "hopfield.py", "    s = s.clone()\n", "", "a06.hopfield_async", "inputs_unchanged", K.IN_PLACE,
        "the states updated unit by unit in the caller's own tensor (the clone left out)"),
    Bug(A06, "hopfield.py", "e = -0.5 * ((s @ w) * s).sum(dim=1) + s @ theta  # (N,)",
        "e = -0.5 * ((s @ w) * s).sum(dim=1)  # (N,)", "a06.hopfield_energy", "e", K.MISSING_TERM,
        "the thresholds' term left out of the energy"),


    # a07: autoencoders and deep belief networks
    Bug(A07, "autoencoder.py", "diff = xhat - x  # (N, D)", "diff = x - xhat  # (N, D)", "a07.reconstruction_loss",
        "dxhat", K.SIGN, "the error taken as x - xhat: the loss is the same, its gradient has the wrong sign"),
    Bug(A07, "autoencoder.py", "dh = drho_hat.expand(n, -1) / n", "dh = drho_hat.expand(n, -1)",
        "a07.sparsity_penalty", "dh", K.SCALE, "each example's share of rho_hat's gradient not divided by N"),
    Bug(A07, "autoencoder.py", "    dW1 = dW1 + dW1_decay\n", "", "a07.sparse_ae_loss", "dW1", K.MISSING_TERM,
        "the weight decay's gradient added to dW2 only"),
    Bug(A07, "autoencoder.py", "db1 = dz1.sum(dim=0)  # (H,)", "db1 = dz1.sum(dim=0, keepdim=True)  # (H,)",
        "a07.ae_backward", "db1", K.KEEPDIM, "the hidden bias gradient kept as a (1, H) row"),
    Bug(A07, "dbn.py", "d = (d @ W.T) * h * (1.0 - h)", "d = (d @ W.T) * (1.0 - h * h)", "a07.dbn_backward", "dW3",
        K.ACTIVATION, "tanh's derivative used for the sigmoid hidden layers"),
    Bug(A07, "rbm.py", "v1 = visible_probs(h0, W, b)  # (N, D)", "v1 = visible_probs(p0, W, b)  # (N, D)",
        "a07.rbm_cd1", "W", K.WRONG_INPUT, "the reconstruction driven by the hidden probabilities, not the sample h0"),
    Bug(A07, "dbn.py", "errors = torch.stack(errors)  # (L, E)", "errors = torch.cat(errors)  # (L, E)",
        "a07.dbn_pretrain", "errors", K.SHAPE, "the layers' error curves concatenated instead of stacked"),

    # a08: unsupervised networks

    Bug(A08, "inhibitory.py", "scores = (n + x @ prototypes.T) / 2  # (N, M)",
        "scores = n + x @ prototypes.T  # (N, M)",
        "a08.hamming_net", "scores", K.SCALE, "the agreement score not halved"),
    Bug(A08, "inhibitory.py", "x = B * inputs / (A + inputs.sum(dim=1, keepdim=True))  # (N, M)",
        "x = B * inputs / (A + inputs.sum(dim=0, keepdim=True))  # (N, M)", "a08.shunting_equilibrium", "out",
        K.AXIS, "the total input summed over the patterns instead of over the units"),
    Bug(A08, "som.py", "qe = d.min(dim=1).values.mean()", "qe = d.min(dim=0).values.mean()",
        "a08.quantization_error", "qe", K.AXIS, "each unit's nearest input instead of each input's nearest unit"),
    Bug(A08, "inhibitory.py", "dx = -A * x + (B - x) * inputs - x * others", "dx = (B - x) * inputs - x * others",
        "a08.shunting_step", "out", K.MISSING_TERM, "the passive decay -A x left out"),

    Bug(A08, "rbf.py", "    for _ in range(iters):\n", "    for _ in range(1, iters):\n", "a08.kmeans", "centres",
        K.OFF_BY_ONE, "one round of k-means too few"),
    Bug(A08, "inhibitory.py", "steps = torch.zeros(y.shape[0], dtype=torch.int64, device=y.device)",
        "steps = torch.zeros(y.shape[0], device=y.device)", "a08.maxnet", "steps", K.DTYPE,
        "the step counter made without dtype=int64: float32"),

    # a09: recurrent networks
    Bug(A09, "rnn.py", "dw_hh = da.T @ h_prev  # (H, H)", "dw_hh = h_prev.T @ da  # (H, H)", "a09.rnn_step_backward",
        "dw_hh", K.TRANSPOSE, "the recurrent weight gradient's factors swapped: its transpose"),
    Bug(A09, "rnn.py", "    h = torch.stack(hs)  # (T, N, H)\n", "    h = torch.cat(hs)  # (T, N, H)\n",
        "a09.rnn_forward", "h", K.SHAPE, "the hidden states concatenated into (T*N, H) instead of stacked"),
    Bug(A09, "lstm.py", "    for t in reversed(range(len(cache))):\n", "    for t in reversed(range(1, len(cache))):\n",
        "a09.lstm_backward", "dx", K.OFF_BY_ONE, "backpropagation through time stops before the first step"),
    Bug(A09, "rnn.py", "last = h[-1]  # (N, H)", "last = h[-2]  # (N, H)", "a09.many_to_one_loss", "loss",
        K.OFF_BY_ONE, "the classifier fed the second-to-last hidden state"),
    Bug(A09, "tree.py", "db = dscores.sum(dim=0)  # (C,)", "db = dscores  # (C,)", "a09.tree_node_loss", "db",
        K.MISSING_SUM, "the bias gradient left per node: the sum over the nodes missing"),
    Bug(A09, "tree.py", "nodes.new_full((count,), 1.0 / count)", "nodes.new_full((count,), 1.0)", "a09.tree_node_loss",
        "loss", K.SCALE, "the node losses summed instead of averaged"),
    Bug(A09, "lstm.py", "lstm_step_backward(dh[t] + dh_prev, dc_prev, cache[t])",
        "lstm_step_backward(dh[t], dc_prev, cache[t])", "a09.lstm_backward", "dx", K.MISSING_TERM,
        "the recurrent gradient dh_prev from step t + 1 left out"),
    Bug(A09, "lstm.py", "di, df, dg = dc * g, dc * c_prev, dc * i", "di, df, dg = dc * g, dc * h_prev, dc * i",
        "a09.lstm_step_backward", "dx", K.WRONG_INPUT,
        "the forget gate's gradient taken with h_prev instead of c_prev"),
    Bug(A09, "lstm.py", "dg * (1.0 - g * g), do * o * (1.0 - o)], dim=1)",
        "do * o * (1.0 - o), dg * (1.0 - g * g)], dim=1)", "a09.lstm_step_backward", "db_ih", K.ORDER,
        "the gate gradients put together in the order i, f, o, g instead of i, f, g, o"),
    Bug(A09, "gru.py", "dh_prev = dah @ w_hh + dh_next * z  # (N, H)", "dh_prev = dah @ w_hh  # (N, H)",
        "a09.gru_step_backward", "dh_prev", K.MISSING_TERM, "the direct path z * h_prev left out of dh_prev"),
    Bug(A09, "gru.py", "dax = torch.cat([dar, daz, dan], dim=1)", "dax = torch.cat([daz, dar, dan], dim=1)",
        "a09.gru_step_backward", "db_ih", K.ORDER,
        "the x side's gate gradients in the order z, r, n instead of r, z, n"),
    Bug(A09, "tree.py", "da = grad[n_leaves + ks] * (1.0 - p * p)  # (K, D) through tanh",
        "da = grad[n_leaves + ks] * (1.0 - p)  # (K, D) through tanh", "a09.tree_backward", "dleaves", K.ACTIVATION,
        "tanh' written as 1 - p instead of 1 - p^2"),

    # a10: attention
    Bug(A10, "softmax.py", "    x = x - x.amax(dim=dim, keepdim=True)  # stabilise exp\n", "",
        "a10.masked_softmax_forward", "p", K.NOT_FINITE, "the maximum not subtracted: exp overflows on large scores"),
    Bug(A10, "softmax.py", "dx = p * (dp - (dp * p).sum(dim=dim, keepdim=True))",
        "dx = p * ((dp * p).sum(dim=dim, keepdim=True) - dp)", "a10.masked_softmax_backward", "dx", K.SIGN,
        "the softmax Jacobian's product written the wrong way round"),
    Bug(A10, "self_attention.py", "dscores = masked_softmax_backward(dalpha, sm_cache) * scale",
        "dscores = masked_softmax_backward(dalpha, sm_cache)", "a10.scaled_dot_attention_backward", "dq", K.SCALE,
        "the 1/sqrt(d_k) of the forward forgotten in the backward"),
    Bug(A10, "self_attention.py", "alpha, sm_cache = masked_softmax_forward(scores, mask, dim=-1)",
        "alpha, sm_cache = masked_softmax_forward(scores, mask, dim=-2)", "a10.scaled_dot_attention_forward", "alpha",
        K.AXIS, "the softmax over the queries instead of over the keys"),
    Bug(A10, "self_attention.py", "dWo = concat.reshape(-1, e).T @ dout.reshape(-1, e)",
        "dWo = dout.reshape(-1, e).T @ concat.reshape(-1, e)", "a10.multi_head_attention_backward", "dWo",
        K.TRANSPOSE, "the output projection's gradient with its factors swapped: its transpose"),
    Bug(A10, "self_attention.py", "dxkv = dk @ Wk.T + dv @ Wv.T  # (N, Tk, E)", "dxkv = dk @ Wk.T  # (N, Tk, E)",
        "a10.multi_head_attention_backward", "dxkv", K.MISSING_TERM, "the values' path to xkv left out"),
    Bug(A10, "combinations.py",
        "dm = masked_softmax_backward(dalpha, alpha_cache) + masked_softmax_backward(dbeta, beta_cache)",
        "dm = masked_softmax_backward(dalpha, alpha_cache)", "a10.attention_over_attention_backward", "dd",
        K.MISSING_TERM, "the gradient through the query-side attention beta left out"),
    Bug(A10, "show_attend_tell.py", "dalphas = (-2 * lam * gap)", "dalphas = (2 * lam * gap)",
        "a10.doubly_stochastic_penalty", "dalphas", K.SIGN,
        "the inner derivative's minus of (1 - sum alpha)^2 dropped"),
    Bug(A10, "softmax.py", "dx = p * (dp - (dp * p).sum(dim=dim, keepdim=True))",
        "dx = p * (dp - (dp * p).sum(dim=-1, keepdim=True))", "a10.masked_softmax_backward", "dx", K.AXIS,
        "the Jacobian's sum taken over the last axis whatever the softmax's dim"),
    Bug(A10, "luong.py", "dht = dx[:, :, :dt_].sum(dim=1)", "dht = dx[:, :, :dt_].mean(dim=1)",
        "a10.luong_score_backward", "dht", K.SCALE,
        "h_t's gradient averaged over the source positions instead of summed"),

    # a11: the transformer
    Bug(A11, "attention.py", "din_proj_bias = torch.cat([db_q, db_k, db_v], dim=0)",
        "din_proj_bias = torch.cat([db_q, db_v, db_k], dim=0)", "a11.multi_head_attention_backward",
        "din_proj_bias", K.ORDER, "the packed bias's gradient in the order q, v, k"),
    Bug(A11, "attention.py", "dk = (dscores.transpose(-2, -1) @ q) * scale", "dk = dscores.transpose(-2, -1) @ q",
        "a11.attention_backward", "dk", K.SCALE, "the keys' gradient without the 1/sqrt(d_k)"),
    Bug(A11, "layers.py", "                 - xhat * (dxhat * xhat).mean(dim=-1, keepdim=True))  # (..., D)",
        "                 )  # (..., D)", "a11.layer_norm_backward", "dx", K.MISSING_TERM,
        "the gradient through the variance left out"),
    Bug(A11, "layers.py", "pos = torch.arange(length, dtype=torch.float64)[:, None]",
        "pos = torch.arange(1, length + 1, dtype=torch.float64)[:, None]", "a11.positional_encoding", "out",
        K.OFF_BY_ONE, "positions counted from 1"),
    Bug(A11, "layers.py", "two_i = torch.arange(0, d_model, 2, dtype=torch.float64)",
        "two_i = torch.arange(0, d_model, 2, dtype=torch.float32)", "a11.positional_encoding", "out", K.PRECISION,
        "the frequencies computed in float32, stored in float64"),
    Bug(A11, "layers.py", "dw2 = dout.reshape(-1, e).T @ hidden.reshape(-1, f)",
        "dw2 = dout.reshape(-1, e).T @ pre.reshape(-1, f)", "a11.feed_forward_backward", "dw2", K.WRONG_INPUT,
        "the second layer's weight gradient from the pre-activation instead of the ReLU's output"),
    Bug(A11, "layers.py", "dw1 = dpre.reshape(-1, f).T @ x.reshape(-1, e)  # (F, E)",
        "dw1 = x.reshape(-1, e).T @ dpre.reshape(-1, f)  # (F, E)", "a11.feed_forward_backward", "dw1", K.TRANSPOSE,
        "the first layer's weight gradient as (E, F): its transpose"),

    # a12: capsules
    Bug(A12, "capsules.py", "n2 = (s * s).sum(dim=-1, keepdim=True)", "n2 = (s * s).sum(dim=-2, keepdim=True)",
        "a12.squash_forward", "v", K.AXIS, "the capsules' lengths taken along the wrong axis"),
    Bug(A12, "capsules.py", "ds = f * dout + (df / n) * (s * dout).sum(dim=-1, keepdim=True) * s", "ds = f * dout",
        "a12.squash_backward", "ds", K.MISSING_TERM, "the gradient through the length left out"),
    Bug(A12, "capsules.py", 'dW = torch.einsum("nijd,nik->ijdk", dout, u)',
        'dW = torch.einsum("nijd,nik->ijkd", dout, u)',
        "a12.predictions_backward", "dW", K.TRANSPOSE, "the last two indices of dW swapped in the einsum"),
    Bug(A12, "capsules.py", 'dW = torch.einsum("nijd,nik->ijdk", dout, u)',
        'dW = torch.einsum("nijd,nik->nijdk", dout, u)',
        "a12.predictions_backward", "dW", K.MISSING_SUM, "one dW per example: the sum over the batch missing"),
    Bug(A12, "losses.py", "loss = (t * present ** 2 + lam * (1.0 - t) * absent ** 2).sum() / n",
        "loss = (t * present ** 2 + lam * (1.0 - t) * absent ** 2).mean()", "a12.margin_loss", "loss", K.SCALE,
        "the loss averaged over the classes too"),
    Bug(A12, "losses.py", "h = mask(v, y)  # (N, J*D)", "h = v.reshape(v.shape[0], -1)  # (N, J*D)",
        "a12.decoder_forward", "out", K.MASK, "every digit capsule fed to the decoder: the mask to class y skipped"),
    Bug(A12, "losses.py", "dz = (2.0 * scale / n) * diff * out * (1.0 - out)",
        "dz = (scale / n) * diff * out * (1.0 - out)", "a12.reconstruction_loss", "dv", K.SCALE,
        "the 2 of the squared error's derivative dropped"),
    Bug(A12, "losses.py", "diff = out - images  # (N, P)", "diff = images - out  # (N, P)", "a12.reconstruction_loss",
        "dv", K.SIGN, "the error taken as images - out: the loss is the same, its gradient has the wrong sign"),


    # a13: graph networks
    Bug(A13, "sage.py", "index_add(0, col, dtotal[row])", "index_add(0, row, dtotal[col])", "a13.sage_mean_backward",
        "dx", K.TRANSPOSE, "the neighbours' gradient scattered along the edges the wrong way (i and j swapped)"),
    Bug(A13, "gcn.py", "out = a_hat @ xw + b  # (N, F')", "out = a_hat @ xw  # (N, F')", "a13.gcn_forward", "out",
        K.MISSING_TERM, "the bias left out"),
    Bug(A13, "gat.py", "dz = dz + ds_dst[:, :, None] * a_dst[:, None, :] + ds_src[:, :, None] * a_src[:, None, :]",
        "dz = dz + ds_dst[:, :, None] * a_dst[:, None, :]", "a13.gat_backward", "dx", K.MISSING_TERM,
        "the gradient through the neighbours' half of the score left out"),
    Bug(A13, "gat.py", "de = alpha * (dalpha - (dalpha * alpha).sum(dim=-1, keepdim=True))",
        "de = alpha * (dalpha - (dalpha * alpha).sum(dim=-2, keepdim=True))", "a13.gat_backward", "dx", K.AXIS,
        "the softmax's backward summed over the wrong axis of the attention matrix"),
    Bug(A13, "gat.py", "dh = (dout / heads).expand(heads, n, k)", "dh = dout.expand(heads, n, k)", "a13.gat_backward",
        "dx", K.SCALE, "the mean over heads not divided by their number in the backward"),
    Bug(A13, "sage.py", "db = dout.sum(dim=0)  # (F',)", "db = dout  # (F',)", "a13.sage_mean_backward", "db",
        K.MISSING_SUM, "the bias gradient left per node: the sum over the nodes missing"),
    Bug(A13, "sage.py", "dx = dout @ w_self.T + torch.zeros_like(x).index_add(0, col, dtotal[row])",
        "dx = dout @ w_self.T", "a13.sage_mean_backward", "dx", K.MISSING_TERM,
        "the gradient through the neighbours' mean left out"),
    Bug(A13, "model.py", "    dw1 = dw1 + reg * w1\n", "", "a13.gcn2_loss", "dW1", K.MISSING_TERM,
        "the weight decay's gradient left out (its loss is there)"),

    # Added beside the classic-mistake mutants of the near-miss search, to see that they name mistakes they
    # were not made from: other functions, other activations, other loops and indices.
    Bug(A02, "layers.py", "dx = dout * out * (1.0 - out)", "dx = dout * (1.0 - out * out)", "a02.sigmoid_backward",
        "dx", K.ACTIVATION, "tanh's derivative 1 - s^2 used for the sigmoid"),
    Bug(A09, "rnn.py", "da = dh_next * (1.0 - h_next * h_next)", "da = dh_next * (1.0 - h_next)",
        "a09.rnn_step_backward", "dx", K.ACTIVATION, "tanh' written as 1 - h instead of 1 - h^2"),
    Bug(A09, "gru.py", "dan = dn * (1.0 - n * n)", "dan = dn * n * (1.0 - n)", "a09.gru_step_backward", "dx",
        K.ACTIVATION, "the sigmoid's derivative used for the candidate state's tanh"),
    Bug(A09, "lstm.py", "dh_next * o * (1.0 - tanh_c * tanh_c)", "dh_next * o * (1.0 - tanh_c)",
        "a09.lstm_step_backward", "dc_prev", K.ACTIVATION, "tanh(c)'s derivative written as 1 - tanh(c)"),
    Bug(A04, "conv.py", "    for i in range(h_out):\n        for j in range(w_out):\n            rows, cols",
        "    for i in range(1, h_out):\n        for j in range(w_out):\n            rows, cols", "a04.conv_backward_naive",
        "dw", K.OFF_BY_ONE, "the loop over output rows started at 1: the first row's gradient left out"),
    Bug(A09, "rnn.py", "    for t in range(x.shape[0]):\n", "    for t in range(1, x.shape[0]):\n", "a09.rnn_forward", "h",
        K.OFF_BY_ONE, "the first time step skipped"),
    Bug(A12, "em_routing.py", "for it in range(iterations):", "for it in range(iterations - 1):", "a12.em_routing", "mu",
        K.OFF_BY_ONE, "one M-step too few"),
    Bug(A10, "softmax.py", "p = ex / ex.sum(dim=dim, keepdim=True)", "p = ex / ex.sum(dim=-1, keepdim=True)",
        "a10.masked_softmax_forward", "p", K.AXIS, "the normalising sum over the last axis whatever the softmax's dim"),
    Bug(A13, "sage.py", "total = torch.zeros_like(x).index_add(0, row, x[col])",
        "total = torch.zeros_like(x).index_add(0, col, x[row])", "a13.sage_mean_forward", "out", K.TRANSPOSE,
        "the neighbours' features gathered along the edges the wrong way (i and j swapped)"),
    Bug(A05, "batchnorm.py", "dgamma = (dout * xhat).sum(dim=0)  # (D,)\n    dxhat = dout * gamma  # (N, D)\n    divar",
        "dgamma = (dout * xmu).sum(dim=0)  # (D,)\n    dxhat = dout * gamma  # (N, D)\n    divar",
        "a05.batchnorm_backward", "dgamma", K.WRONG_INPUT, "gamma's gradient taken with the centred x, not x-hat"),
    Bug(A02, "layers.py", "dx = torch.where(x > 0, dout, slope * dout)", "dx = torch.where(x > 0, slope * dout, dout)",
        "a02.leaky_relu_backward", "dx", K.MASK, "the slope applied where x > 0: the mask inverted"),
    Bug(A13, "gat.py", "ds_dst[:, :, None] * a_dst[:, None, :] + ds_src[:, :, None] * a_src[:, None, :]",
        "ds_dst[:, :, None] * a_src[:, None, :] + ds_src[:, :, None] * a_dst[:, None, :]", "a13.gat_backward", "dx",
        K.WRONG_INPUT, "each score's gradient multiplied by the other end's attention vector"),
    Bug(A11, "attention.py", "scale = 1.0 / math.sqrt(q.shape[-1])", "scale = 1.0 / q.shape[-1]",
        "a11.attention_forward", "out", K.SCALE, "the scores divided by d_k instead of its square root"),
    Bug(A08, "som.py", "h = torch.exp(-d2 / (2.0 * sigma ** 2))", "h = torch.exp(-d2 / sigma ** 2)",
        "a08.gaussian_neighbourhood", "h", K.SCALE, "the Gaussian neighbourhood without the 2 of 2 sigma^2"),
]
