"""Triton Python-backend model: runs the bundle's model.onnx on ONNX Runtime (copied as `<model>/<v>/model.py`).

Runs inside Triton's Python backend stub, so it imports only numpy, onnxruntime and Triton's own
triton_python_backend_utils; never edgeattn. Requests the dynamic batcher hands over together are run as one
ONNX Runtime call per group of equal per-item shapes (concatenated on the batch axis, split back after), so the
batching Triton does reaches the runtime. Triton checks names, data types and the dims of config.pbtxt; this
model also refuses heights/widths outside the ranges the bundle was exported for (config.pbtxt can only say -1),
read from the manifest carried in the `edgeattn.manifest` parameter. A failure answers the affected requests with
an error; the model and the server keep serving.
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.batched = int(config.get("max_batch_size", 0)) > 0
        self.inputs = [t["name"] for t in config["input"]]
        self.outputs = [t["name"] for t in config["output"]]
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = int(params.get("inter_op_thread_count", "1"))
        if int(params.get("intra_op_thread_count", "0")) > 0:
            opts.intra_op_num_threads = int(params["intra_op_thread_count"])
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # name -> ((axis, label, lo, hi), ...): the bundle's dynamic H/W ranges (hi None = no upper bound)
        self.ranges = {}
        manifest = json.loads(params.get("edgeattn.manifest", "{}"))
        for entry in manifest.get("inputs", []):
            dynamic = entry.get("dynamic") or {}
            self.ranges[entry["name"]] = tuple((axis, key, dynamic[key][0], dynamic[key][1])
                                               for axis, key in ((2, "height"), (3, "width")) if dynamic.get(key))
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])

    def _out_of_range(self, feed):
        for name, checks in self.ranges.items():
            shape = feed[name].shape
            for axis, label, lo, hi in checks:
                size = shape[axis] if axis < len(shape) else None
                if size is None or (lo is not None and size < lo) or (hi is not None and size > hi):
                    return (f"input '{name}' has {label} {size}; the bundle was exported for {label}s "
                            f"{lo}..{hi if hi is not None else 'any'}: send a size in that range")
        return None

    def _run(self, feeds):
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds)))

    def execute(self, requests):
        feeds = [{n: pb_utils.get_input_tensor_by_name(r, n).as_numpy() for n in self.inputs} for r in requests]
        responses = [None] * len(requests)
        groups = {}
        for i, f in enumerate(feeds):
            problem = self._out_of_range(f)
            if problem is not None:
                responses[i] = pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(problem))
                continue
            key = tuple((n, f[n].shape[1:] if self.batched else f[n].shape, f[n].dtype.str) for n in self.inputs)
            groups.setdefault(key, []).append(i)
        for members in groups.values():
            try:
                if self.batched and len(members) > 1:
                    merged = {n: np.concatenate([feeds[i][n] for i in members], axis=0) for n in self.inputs}
                    result = self._run(merged)
                    sizes = [feeds[i][self.inputs[0]].shape[0] for i in members]
                    cuts = np.cumsum(sizes)[:-1]
                    parts = {n: np.split(v, cuts, axis=0) for n, v in result.items()}
                    per_request = [{n: parts[n][k] for n in self.outputs} for k in range(len(members))]
                else:
                    per_request = [self._run(feeds[i]) for i in members]
                for i, out in zip(members, per_request):
                    tensors = [pb_utils.Tensor(n, np.ascontiguousarray(out[n])) for n in self.outputs]
                    responses[i] = pb_utils.InferenceResponse(output_tensors=tensors)
            except Exception as exc:  # answer with an error; the model keeps serving
                message = f"ONNX Runtime failed on this request: {str(exc).splitlines()[0]}"
                for i in members:
                    responses[i] = pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message))
        return responses
