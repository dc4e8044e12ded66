"""Where the time goes: wall time per module family, measured with forward hooks.

Families follow emotion2vec's layout (funasr module names, which the engine keeps):
the convolutional feature extractor (local_encoder + the projection to the model width),
the convolutional positional encoder, attention (q/k/v, T x T scores, softmax, output
projection) and the MLP of every block. "other" is the rest of the call: layer norms, the ALiBi
bias, the classifier, input normalisation, copies, and for funasr's generate() its bookkeeping.
When the engine computes a family with its own function instead of the module (the engine's
GEMM conv path), that function is timed instead (see `wrap`).
"""

from __future__ import annotations

import functools
import time
from typing import Any

FAMILIES = ("conv_feature_extractor", "conv_positional", "attention", "mlp")


def family(name: str, module: Any) -> str | None:
    leaf = name.rsplit(".", 1)[-1]
    cls = type(module).__name__
    if leaf in ("local_encoder", "project_features") or "ConvFeatureExtraction" in cls:
        return "conv_feature_extractor"
    if leaf == "relative_positional_encoder":
        return "conv_positional"
    if leaf == "attn" or cls.endswith("Attention"):
        return "attention"
    if leaf == "mlp" or cls == "Mlp":
        return "mlp"
    return None


class ModuleTimer:
    """Context manager: hooks the outermost module of each family, sums their wall times."""

    def __init__(self, model: Any, functions: list[tuple[Any, str, str | None]] = ()) -> None:
        self.model = model
        self.functions = list(functions)  # (owner, attribute, family or None) to time whole
        self.seconds = dict.fromkeys(FAMILIES, 0.0)
        self.calls = dict.fromkeys(FAMILIES, 0)
        self.model_forward_s = 0.0
        self._handles: list[Any] = []
        self._restore: list[tuple[Any, str, Any]] = []
        self._starts: dict[int, float] = {}
        # >0 while a timed function of that family (or "model": the forward) runs
        self._inside = dict.fromkeys((*FAMILIES, "model"), 0)

    def _add(self, fam: str | None, elapsed: float) -> None:
        if fam is None:
            if not self._inside["model"]:
                self.model_forward_s += elapsed
        elif not self._inside[fam]:
            self.seconds[fam] += elapsed
            self.calls[fam] += 1

    def _hook(self, module: Any, fam: str | None) -> None:
        def pre(mod: Any, args: Any) -> None:
            self._starts[id(mod)] = time.perf_counter()

        def post(mod: Any, args: Any, out: Any) -> None:
            self._add(fam, time.perf_counter() - self._starts.pop(id(mod)))

        self._handles.append(module.register_forward_pre_hook(pre))
        self._handles.append(module.register_forward_hook(post))

    def wrap(self, owner: Any, attr: str, fam: str | None) -> None:
        """Time owner.attr as a whole: as family `fam`, or (None) as the model's forward."""
        original = getattr(owner, attr)
        key = fam or "model"

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            outer = self._inside[key] == 0
            self._inside[key] += 1
            try:
                return original(*args, **kwargs)
            finally:
                self._inside[key] -= 1
                if outer:
                    self._add(fam, time.perf_counter() - start)

        setattr(owner, attr, timed)
        self._restore.append((owner, attr, original))

    def __enter__(self) -> ModuleTimer:
        if self.model is None:
            return self
        self._hook(self.model, None)
        hooked: list[str] = []
        for name, module in self.model.named_modules():
            fam = family(name, module)
            # A family member inside another one (e.g. a Linear named attn) is already counted.
            if fam and not any(name.startswith(h + ".") for h in hooked):
                self._hook(module, fam)
                hooked.append(name)
        for owner, attr, fam in self.functions:
            self.wrap(owner, attr, fam)
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        for owner, attr, original in reversed(self._restore):
            setattr(owner, attr, original)
        self._handles.clear()
        self._restore.clear()

    def summary(self, total_s: float) -> dict[str, Any]:
        """Seconds and share of `total_s` per family; model_forward_s is the hooked top module."""
        known = sum(self.seconds.values())
        seconds = {**self.seconds, "other": max(total_s - known, 0.0)}
        outside = total_s - self.model_forward_s if self.model_forward_s else None
        return {
            "total_s": total_s,
            "model_forward_s": self.model_forward_s or None,
            "outside_model_s": outside,
            "seconds": seconds,
            "share": {k: (v / total_s if total_s else 0.0) for k, v in seconds.items()},
            "calls": self.calls,
        }
