"""The bi-encoder as ONNX: export with pooling inside, graph optimisation, INT8 quantisation.

Models travel as serialised ONNX bytes. The exported graph takes ``input_ids``,
``attention_mask`` and ``token_type_ids`` (int64 ``[batch, seq]``, both axes dynamic) and
outputs ``sentence_embedding`` (float32 ``[batch, dim]``, mean-pooled over the attention mask and
L2-normalised): the sentence embedding itself, not hidden states. The TorchScript exporter is
used on an eager-attention model, because that is the graph onnxruntime's transformer optimiser
fuses into Attention nodes (the dynamo exporter's graph receives no attention fusion).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers import optimizer
from torch import nn

from neura_scholar.encoders import ONNX_INPUTS, ONNX_OUTPUT


class SentenceEmbeddingModule(nn.Module):
    """A transformer followed by attention-masked mean pooling and L2 normalisation."""

    def __init__(self, transformer: nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2.0, dim=1)


def export_onnx(module: nn.Module, opset: int, dim: int) -> bytes:
    """Export ``module`` (a :class:`SentenceEmbeddingModule`) with dynamic batch and sequence;
    the output's embedding axis is fixed to ``dim``."""
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in ONNX_INPUTS}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            module.eval(),
            (example, example, torch.zeros_like(example)),
            str(path),
            input_names=list(ONNX_INPUTS),
            output_names=[ONNX_OUTPUT],
            dynamic_axes={**axes, ONNX_OUTPUT: {0: "batch"}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
        proto = onnx.load(str(path))
    (output,) = [o for o in proto.graph.output if o.name == ONNX_OUTPUT]
    output.type.tensor_type.shape.dim[-1].dim_value = dim
    return bytes(proto.SerializeToString())


def optimise_onnx(model: bytes, num_heads: int, hidden_size: int) -> tuple[bytes, dict[str, int]]:
    """onnxruntime's BERT optimiser; returns the model and the count of each fusion made."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        source.write_bytes(model)
        optimised = optimizer.optimize_model(
            str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
            opt_level=1, use_gpu=False,
        )  # fmt: skip
        fusions = {op: int(n) for op, n in optimised.get_fused_operator_statistics().items() if n}
        optimised.save_model_to_file(str(target))
        return target.read_bytes(), fusions


def quantise_onnx(model: bytes, per_channel: bool) -> bytes:
    """Dynamic INT8 quantisation of the weights (per channel or per tensor)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        source.write_bytes(model)
        quantize_dynamic(
            str(source), str(target), per_channel=per_channel, weight_type=QuantType.QInt8,
            # The optimiser's fused graph has tensors of unknown type without this.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip
        return target.read_bytes()


def describe_onnx(model: bytes) -> dict[str, Any]:
    """Opset, input and output names, and embedding dimension of a serialised model.

    Raises:
        ValueError: when the bytes are not a valid ONNX model with a ``sentence_embedding`` output.
    """
    try:
        proto = onnx.load_from_string(model)
        onnx.checker.check_model(proto)
    except Exception as exc:  # onnx raises several unrelated types for bad bytes
        raise ValueError(f"not a valid ONNX model: {exc}") from exc
    outputs = {o.name: o for o in proto.graph.output}
    if ONNX_OUTPUT not in outputs:
        raise ValueError(f"the model has no {ONNX_OUTPUT!r} output (outputs: {sorted(outputs)})")
    dims = outputs[ONNX_OUTPUT].type.tensor_type.shape.dim
    opsets = {entry.domain or "ai.onnx": entry.version for entry in proto.opset_import}
    return {
        "opset": opsets.get("ai.onnx"),
        "inputs": [i.name for i in proto.graph.input],
        "outputs": list(outputs),
        "dim": int(dims[-1].dim_value) if dims and dims[-1].dim_value else None,
    }
