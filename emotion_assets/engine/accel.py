"""A lean inference forward for funasr's Emotion2vec, and a switchable attention patch.

`features_forward` computes exactly what ``Emotion2vec.extract_features(mask=False)`` computes,
but builds the ALiBi bias once per window length as a (1, H, T+E, T+E) tensor that broadcasts over
the batch (funasr materialises B x H x T x T, scales and pads it on every call, and caches the
largest ever seen in ``model.alibi_biases``). `patch_attention` swaps the explicit T x T attention
for ``torch.nn.functional.scaled_dot_product_attention`` with the bias as attn_mask; `unpatch`
restores funasr's code. Tests check both against the unpatched model.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F

_ORIGINAL_FORWARD = "_emotion_assets_original_forward"


def _sdpa_forward(self, x: torch.Tensor, padding_mask=None, alibi_bias=None) -> torch.Tensor:
    """AltAttention.forward with fused attention (same maths, no T x T float32 round trips)."""
    if padding_mask is not None and padding_mask.any():  # never used by the engine
        return getattr(self, _ORIGINAL_FORWARD)(x, padding_mask, alibi_bias)
    b, n, c = x.shape
    qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    mask = None
    if alibi_bias is not None:
        mask = alibi_bias.to(q.dtype)
        if mask.size(1) < self.num_heads:  # funasr adds the bias to the first heads only
            mask = F.pad(mask, (0, 0, 0, 0, 0, self.num_heads - mask.size(1)))
    x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
    x = x.transpose(1, 2).reshape(b, n, c)
    return self.proj_drop(self.proj(x))


def _attention_modules(model: torch.nn.Module):
    from funasr.models.emotion2vec.modules import AltAttention

    return [m for m in model.modules() if isinstance(m, AltAttention)]


def patch_attention(model: torch.nn.Module) -> int:
    """Use scaled_dot_product_attention in every AltAttention; returns how many were patched."""
    mods = _attention_modules(model)
    for m in mods:
        if getattr(m, "cosine_attention", False):
            continue
        if not hasattr(m, _ORIGINAL_FORWARD):
            setattr(m, _ORIGINAL_FORWARD, m.forward)
        m.forward = types.MethodType(_sdpa_forward, m)
    return len(mods)


def unpatch_attention(model: torch.nn.Module) -> None:
    for m in _attention_modules(model):
        if hasattr(m, _ORIGINAL_FORWARD):
            m.forward = getattr(m, _ORIGINAL_FORWARD)
            delattr(m, _ORIGINAL_FORWARD)


class AlibiCache:
    """The scaled, extra-token-padded ALiBi bias for one window length at a time."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._bias: torch.Tensor | None = None

    def get(self, encoder, n_frames: int, device: torch.device) -> torch.Tensor | None:
        if encoder.get_alibi_bias is None:
            return None
        key = (n_frames, str(device))
        if key != self._key:
            self._bias = None  # free the previous length first: memory stays flat
            cfg = encoder.modality_cfg
            scratch: dict = {}  # funasr's bias function caches into this dict, not the model's
            from funasr.models.emotion2vec.base import get_alibi_bias

            bias = get_alibi_bias(
                scratch, 1, n_frames, cfg.num_alibi_heads, torch.float32, device
            ).clone()
            scale = encoder.alibi_scale
            if scale is not None:
                scale = scale.clamp_min(0)
                if scale.size(0) != 1:
                    raise NotImplementedError("per-layer ALiBi scales are not supported")
                bias = bias * scale.squeeze(0).type_as(bias)
            if encoder.extra_tokens is not None:
                e = encoder.extra_tokens.size(1)
                bias = F.pad(bias, (e, 0, e, 0))
            self._key, self._bias = key, bias.contiguous()
        return self._bias


def _gemm_conv_plan(enc) -> list | None:
    """Per conv layer (weight as a GEMM matrix, kernel, stride, LayerNorm, activation), or None.

    Only funasr's "layer_norm" extractor (conv -> dropout -> LayerNorm over channels -> GELU,
    no conv bias) is rewritten; anything else keeps funasr's own module.
    """
    plan = getattr(enc, "_emotion_assets_gemm_conv", None)
    if plan is not None:
        return plan or None
    plan = []
    for layer in enc.local_encoder.conv_layers:
        conv = layer[0]
        norm = layer[2][1] if isinstance(layer[2], torch.nn.Sequential) else None
        if not isinstance(conv, torch.nn.Conv1d) or norm is None or conv.bias is not None:
            plan = []
            break
        out_c, in_c, k = conv.weight.shape
        stride = conv.stride[0]
        if k == stride:  # non-overlapping: frames are a free reshape in (k, C) order
            w = conv.weight.detach().permute(0, 2, 1).reshape(out_c, k * in_c).contiguous()
        else:  # unfold gives (C, k) order
            w = conv.weight.detach().reshape(out_c, in_c * k).contiguous()
        plan.append((w, k, stride, norm, layer[3]))
    enc._emotion_assets_gemm_conv = plan
    return plan or None


def local_features_gemm(enc, source: torch.Tensor) -> torch.Tensor:
    """enc.local_features(source) computed time-major: each conv is one GEMM, no transposes."""
    plan = _gemm_conv_plan(enc)
    if plan is None:
        return enc.local_features(source)
    x = source.unsqueeze(-1)  # (B, N, C=1)
    b = x.size(0)
    for w, k, stride, norm, act in plan:
        t_out = (x.size(1) - k) // stride + 1
        if k == stride:
            cols = x[:, : t_out * stride].reshape(b, t_out, k * x.size(2))
        else:
            cols = x.unfold(1, k, stride).reshape(b, t_out, -1)
        x = F.linear(cols, w.to(x.dtype))
        x = act(F.layer_norm(x.float(), norm.normalized_shape, norm.weight, norm.bias, norm.eps))
        x = x.type_as(cols)
    return enc.project_features[1:](x)  # [0] is TransposeLast: x is already (B, T, C)


def features_forward(
    model, source: torch.Tensor, alibi: AlibiCache, gemm_conv: bool = True
) -> torch.Tensor:
    """(B, N) normalised waveform -> (B, T, D) frame features, as extract_features(mask=False)."""
    enc = model.modality_encoders["AUDIO"]
    x = local_features_gemm(enc, source) if gemm_conv else enc.local_features(source)
    if enc.relative_positional_encoder is not None:
        x = x + enc.relative_positional_encoder(x)
    bias = alibi.get(enc, x.size(1), x.device)
    if bias is not None and bias.dtype != x.dtype and x.dtype != torch.float32:
        bias = bias.to(x.dtype)
    n_extra = 0
    if enc.extra_tokens is not None:
        n_extra = enc.extra_tokens.size(1)
        x = torch.cat([enc.extra_tokens.expand(x.size(0), -1, -1).to(x.dtype), x], dim=1)
    x = enc.context_encoder(x, None, bias, None)
    for blk in model.blocks:
        x, _ = blk(x, padding_mask=None, alibi_bias=bias)
    if model.norm is not None:
        x = model.norm(x)
    return x[:, n_extra:]
