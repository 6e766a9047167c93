"""all-MiniLM-L6-v2 as an ONNX graph, built from the packaged safetensors weights without torch.

The graph is the BERT encoder of sentence-transformers' all-MiniLM-L6-v2 (6 layers, 384 wide, 12
heads, exact GELU) followed by its pooling: the mean of the token vectors under the attention
mask, L2-normalised. Built in float32 it gives the same embeddings as sentence-transformers
(cosine ≥ 0.9999, tests/cache/test_embedding.py); :func:`build_quantised` then applies ONNX
Runtime's dynamic int8 quantisation to the matrix products and the embedding table, which cuts
the weights from 87 MiB to about 22 MiB at a cosine of about 0.99 to the float model.

Needs ``numpy``, ``onnx`` and ``onnxruntime`` (the ``semantic`` extra); nothing is downloaded.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

BUILDER_VERSION = "2"  # part of the cached model's name: bump when the graph changes
TOKEN_INPUT = "token_vectors"  # the int8 rows of the input's tokens, gathered by the caller
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file (8-byte header length, JSON header, raw data)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
        out: dict[str, np.ndarray] = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            raw = data[8 + size + start : 8 + size + end]
            out[name] = np.frombuffer(raw, dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
        return out


def build_float_model(weights: dict[str, np.ndarray], config: dict[str, Any]) -> Any:
    """The float32 ``onnx.ModelProto``: inputs ``input_ids``, ``attention_mask`` (int64,
    [batch, tokens]); output ``embedding`` (float32, [batch, 384], unit length)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    nodes: list[Any] = []
    inits: list[Any] = []
    counter = iter(range(1_000_000))

    def const(array: np.ndarray, name: str | None = None) -> str:
        name = name or f"c{next(counter)}"
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def w(name: str) -> np.ndarray:
        return np.asarray(weights[name], dtype=np.float32)

    def linear(x: str, prefix: str) -> str:
        product = node("MatMul", [x, const(w(prefix + ".weight").T.copy(), prefix + ".wT")])
        return node("Add", [product, const(w(prefix + ".bias"))])

    def layer_norm(x: str, prefix: str) -> str:
        return node(
            "LayerNormalization",
            [x, const(w(prefix + ".weight")), const(w(prefix + ".bias"))],
            axis=-1,
            epsilon=eps,
        )

    words = node("Gather", [const(w("embeddings.word_embeddings.weight"), "word_emb"), "input_ids"])
    length = node("Slice", [node("Shape", ["input_ids"]), const(np.array([1], np.int64)),
                            const(np.array([2], np.int64))])  # fmt: skip
    pos = node(
        "Slice",
        [
            const(w("embeddings.position_embeddings.weight")),
            const(np.array([0], np.int64)),
            length,
            const(np.array([0], np.int64)),
        ],
    )
    x = node(
        "Add", [node("Add", [words, pos]), const(w("embeddings.token_type_embeddings.weight")[0])]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    maskf = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = node("Mul", [node("Sub", [const(np.array(1.0, np.float32)), maskf]),
                        const(np.array(-10000.0, np.float32))])  # fmt: skip
    bias = node("Unsqueeze", [bias, const(np.array([1, 2], np.int64))])
    split_shape = const(np.array([0, 0, heads, head], np.int64))
    merge_shape = const(np.array([0, 0, hidden], np.int64))
    scale = const(np.array(1.0 / math.sqrt(head), np.float32))
    half = const(np.array(0.5, np.float32))
    one = const(np.array(1.0, np.float32))
    root2 = const(np.array(math.sqrt(2.0), np.float32))

    def heads_of(projected: str, perm: list[int]) -> str:
        return node("Transpose", [node("Reshape", [projected, split_shape])], perm=perm)

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        q = heads_of(linear(x, p + "attention.self.query"), [0, 2, 1, 3])
        k = heads_of(linear(x, p + "attention.self.key"), [0, 2, 3, 1])
        v = heads_of(linear(x, p + "attention.self.value"), [0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])
        ctx = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        ctx = node("Reshape", [node("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(node("Add", [x, linear(ctx, p + "attention.output.dense")]),
                       p + "attention.output.LayerNorm")  # fmt: skip
        h = linear(x, p + "intermediate.dense")
        erf = node("Erf", [node("Div", [h, root2])])
        gelu = node("Mul", [node("Mul", [h, half]), node("Add", [one, erf])])
        x = layer_norm(node("Add", [x, linear(gelu, p + "output.dense")]), p + "output.LayerNorm")
    mask3 = node("Unsqueeze", [maskf, const(np.array([2], np.int64))])
    summed = node("ReduceSum", [node("Mul", [x, mask3]), const(np.array([1], np.int64))],
                  keepdims=0)  # fmt: skip
    count = node("ReduceSum", [mask3, const(np.array([1], np.int64))], keepdims=0)
    mean = node("Div", [summed, node("Max", [count, const(np.array(1e-9, np.float32))])])
    nodes.append(helper.make_node("LpNormalization", [mean], ["embedding"], axis=-1, p=2))
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def token_table_path(model: Path) -> Path:
    """Where :func:`build_quantised` keeps the int8 token table of ``model``."""
    return model.with_suffix(".tokens.npy")


def build_quantised(model_dir: Path, out: Path) -> Path:
    """Write the int8 model for the weights in ``model_dir`` to ``out``, and its token table
    beside it (:func:`token_table_path`), atomically: ``out`` appears last.

    The table (30,522 x 384 bytes) leaves the graph: the caller memory-maps it and gathers the
    rows of a text's tokens into the ``token_vectors`` input, which the graph dequantises as
    before, so only the pages of tokens seen are ever read into memory."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    config = json.loads((model_dir / "config.json").read_text())
    model = build_float_model(read_safetensors(model_dir / "model.safetensors"), config)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        float_path = Path(tmp) / "float.onnx"
        onnx.save(model, str(float_path))
        quant_path = Path(tmp) / "int8.onnx"
        quantize_dynamic(
            str(float_path),
            str(quant_path),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gather"],
            per_channel=True,
        )
        quantised = onnx.load(str(quant_path))
        table = _split_token_table(quantised)
        onnx.save(quantised, str(quant_path))
        table_path = Path(tmp) / "tokens.npy"
        np.save(table_path, table)
        os.replace(table_path, token_table_path(out))
        os.replace(quant_path, out)
    return out


def _split_token_table(model: Any) -> np.ndarray:
    """Remove the token embedding table and its Gather from ``model``; the Gather's output
    becomes the graph input ``token_vectors`` ([batch, tokens, hidden], the table's dtype)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    gather = next(
        n for n in graph.node if n.op_type == "Gather" and n.input[0].startswith("word_emb")
    )
    init = next(i for i in graph.initializer if i.name == gather.input[0])
    table = numpy_helper.to_array(init)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == gather.output[0]:
                node.input[i] = TOKEN_INPUT
    graph.node.remove(gather)
    graph.initializer.remove(init)
    graph.input.append(
        helper.make_tensor_value_info(
            TOKEN_INPUT, init.data_type, ["batch", "tokens", table.shape[1]]
        )
    )
    return table
