#!/usr/bin/env -S dotnet run
#:project ../src/DeepShrink.Onnx/DeepShrink.Onnx.csproj
#:property WarningsAsErrors=
// Writes a seeded DCGAN-style decoder of three ConvTranspose layers as ONNX (our exporter), for
// `./deepshrink bench compare` of the runtime's conv_transpose2d against ONNX Runtime:
//   [64, 8, 8] -> ConvTranspose 64->32 k4 s2 p1 -> Relu -> ConvTranspose 32->16 k4 s2 p1 -> Relu
//   -> ConvTranspose 16->3 k3 s1 p1 -> [3, 32, 32]
// usage: dotnet run scripts/convtranspose-decoder.cs -- OUT.onnx
using DeepShrink.Core;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;
using DeepShrink.Onnx;

if (args.Length != 1) { Console.Error.WriteLine("usage: convtranspose-decoder.cs OUT.onnx"); return 2; }
var rng = new Rng(20261205);
var up = new ConvTransposeAttrs(2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1);
var same = new ConvTransposeAttrs(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1);
var net = new Sequential(
    ("up1", new ConvTranspose2d(64, 32, (4, 4), up, rng)), ("relu1", Activation.ReLU()),
    ("up2", new ConvTranspose2d(32, 16, (4, 4), up, rng)), ("relu2", Activation.ReLU()),
    ("out", new ConvTranspose2d(16, 3, (3, 3), same, rng)));
OnnxExport.FromModule(net, [64, 8, 8], new Dictionary<string, string>(), args[0]);
Console.WriteLine($"wrote {args[0]}");
return 0;
