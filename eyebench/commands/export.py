"""`eyebench export`: a torch checkpoint to ONNX."""
from __future__ import annotations

from pathlib import Path

from ..errors import EyebenchError
from .args import _add_output, input_path, output_file
from .common import _load_models


def run(args) -> int:
    from ..export import export_onnx

    if Path(args.onnx).suffix.lower() != ".onnx":
        raise EyebenchError(f"--onnx {args.onnx}: give a file name ending in .onnx")
    clf = _load_models([args.model])[0]
    meta = export_onnx(clf, args.onnx)
    print(f"wrote {args.onnx}: input 'input' (batch, {clf.data_config.channels}, {clf.data_config.input_size}, "
          f"{clf.data_config.input_size}) float32, output 'p_closed'\npreprocessing: {meta['preprocessing']}")
    return 0


def add_parser(sub) -> None:
    ex = sub.add_parser("export", help="export a torch checkpoint to ONNX (dynamic batch; preprocessing in metadata)")
    ex.add_argument("--model", type=input_path, required=True, help="checkpoint folder")
    _add_output(ex, "--onnx", output_file, required=True, help="ONNX file to write")
    ex.set_defaults(func=run)
