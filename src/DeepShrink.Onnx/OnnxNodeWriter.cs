using DeepShrink.Core;
using DeepShrink.Core.Graph;
using Onnx;
using static DeepShrink.Onnx.OnnxProto;

namespace DeepShrink.Onnx;

/// <summary>Translates graph nodes into ONNX nodes (a gelu or an input transform becomes several).</summary>
/// <remarks><paramref name="shapes"/> holds the per-sample shape of every graph value (by its graph name).</remarks>
internal sealed partial class OnnxNodeWriter(GraphProto g, HashSet<string> names, IReadOnlyDictionary<string, Tensor> tensors,
    IReadOnlyDictionary<string, int[]> shapes)
{
    private int _fresh;

    public void Add(GraphNode n, string[] inputs, string output)
    {
        var p = n.Params;
        switch (n.Op)
        {
            case "linear":
            {
                var (x, scale) = Transform(n, inputs[0], null);
                string raw = scale is null ? output : Fresh(n.Name + ".raw");
                g.Node.Add(Node("Gemm", n.Name, p.ContainsKey("bias") ? [x, p["weight"], p["bias"]] : [x, p["weight"]], raw, Int("transB", 1)));
                if (scale is not null) Rescale(n, raw, scale, output, conv: false);
                break;
            }
            case "conv2d":
            {
                var w = tensors[p["weight"]].Shape;
                if (w.Length != 4) throw new InvalidDataException($"conv2d '{n.Name}': weight '{p["weight"]}' must be 4-D");
                var a = ConvAttrs.Of(n);
                var window = new Window(w[2], w[3], a.StrideH, a.StrideW, a.PadH, a.PadW);
                var (x, scale) = Transform(n, inputs[0], window);
                string raw = scale is null ? output : Fresh(n.Name + ".raw");
                g.Node.Add(Node("Conv", n.Name, p.ContainsKey("bias") ? [x, p["weight"], p["bias"]] : [x, p["weight"]], raw,
                    Ints("dilations", a.DilationH, a.DilationW), Int("group", a.Groups),
                    Ints("kernel_shape", window.KH, window.KW), Ints("pads", a.PadH, a.PadW, a.PadH, a.PadW), Ints("strides", a.StrideH, a.StrideW)));
                if (scale is not null) Rescale(n, raw, scale, output, conv: true);
                break;
            }
            case "conv_transpose2d":
            {
                var w = tensors[p["weight"]].Shape;
                if (w.Length != 4) throw new InvalidDataException($"conv_transpose2d '{n.Name}': weight '{p["weight"]}' must be 4-D");
                var a = ConvTransposeAttrs.Of(n);
                if (a.OutPadH >= a.StrideH || a.OutPadW >= a.StrideW)
                    throw new InvalidDataException($"conv_transpose2d '{n.Name}': output padding ({a.OutPadH}, {a.OutPadW}) not below the strides ({a.StrideH}, {a.StrideW}) has no ONNX ConvTranspose form");
                g.Node.Add(Node("ConvTranspose", n.Name, p.ContainsKey("bias") ? [inputs[0], p["weight"], p["bias"]] : [inputs[0], p["weight"]], output,
                    Ints("dilations", a.DilationH, a.DilationW), Int("group", a.Groups), Ints("kernel_shape", w[2], w[3]),
                    Ints("output_padding", a.OutPadH, a.OutPadW), Ints("pads", a.PadTop, a.PadLeft, a.PadBottom, a.PadRight),
                    Ints("strides", a.StrideH, a.StrideW)));
                break;
            }
            case "batchnorm":
                g.Node.Add(Node("BatchNormalization", n.Name, [inputs[0], p["weight"], p["bias"], p["running_mean"], p["running_var"]], output,
                    Float("epsilon", n.Float("eps", 1e-5f))));
                break;
            case "relu": g.Node.Add(Node("Relu", n.Name, inputs, output)); break;
            case "leaky_relu": g.Node.Add(Node("LeakyRelu", n.Name, inputs, output, Float("alpha", n.Float("slope", 0.01f)))); break;
            case "tanh": g.Node.Add(Node("Tanh", n.Name, inputs, output)); break;
            case "sigmoid": g.Node.Add(Node("Sigmoid", n.Name, inputs, output)); break;
            case "gelu": Gelu(n.Name, inputs[0], output); break;
            case "maxpool2d" or "avgpool2d":
                var pool = PoolAttrs.Of(n);
                var attrs = new List<AttributeProto>
                {
                    Ints("kernel_shape", pool.KernelH, pool.KernelW), Ints("pads", pool.PadH, pool.PadW, pool.PadH, pool.PadW),
                    Ints("strides", pool.StrideH, pool.StrideW),
                };
                if (n.Op == "avgpool2d") attrs.Add(Int("count_include_pad", pool.CountIncludePad ? 1 : 0));
                g.Node.Add(Node(n.Op == "maxpool2d" ? "MaxPool" : "AveragePool", n.Name, inputs, output, attrs.ToArray()));
                break;
            case "global_avgpool2d": g.Node.Add(Node("GlobalAveragePool", n.Name, inputs, output)); break;
            case "flatten":
                int start = n.Int("start_axis", 1);
                if (start < 1) throw new InvalidDataException($"flatten '{n.Name}': start_axis {start} must be >= 1");
                if (start == 1) g.Node.Add(Node("Flatten", n.Name, inputs, output, Int("axis", 1)));
                else
                {   // keep [batch, d1 .. d(start-1)] (0 copies the input dimension), merge the rest
                    var shape = Fresh(n.Name + ".shape");
                    g.Initializer.Add(Int64Tensor(shape, [.. Enumerable.Repeat(0L, start), -1L]));
                    g.Node.Add(Node("Reshape", n.Name, [inputs[0], shape], output));
                }
                break;
            case "add" or "sub" or "mul" or "div": Arithmetic(n, inputs, output); break;
            case "reshape": Reshape(n, inputs[0], output); break;
            case "concat": g.Node.Add(Node("Concat", n.Name, inputs, output, Int("axis", n.Int("axis", 1)))); break;
            case "pad": Pad(n, inputs[0], output); break;
            case "clip": Clip(n, inputs[0], output); break;
            case "softmax": g.Node.Add(Node("Softmax", n.Name, inputs, output, Int("axis", n.Int("axis", -1)))); break;
            case "hard_sigmoid":
                g.Node.Add(Node("HardSigmoid", n.Name, inputs, output, Float("alpha", n.Float("alpha", 0.2f)), Float("beta", n.Float("beta", 0.5f))));
                break;
            case "hard_swish": HardSwish(n.Name, inputs[0], output); break;
            default: g.Node.Add(Node("Identity", n.Name, inputs, output)); break;
        }
    }

    /// <summary>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) from opset-13 primitives.</summary>
    private void Gelu(string name, string x, string output)
    {
        var x3 = Emit("Mul", name + ".mul", Emit("Mul", name + ".mul", x, x), x);
        var inner = Emit("Mul", name + ".mul", Emit("Add", name + ".add", x, Emit("Mul", name + ".mul", x3, Const(name + ".k", 0.044715f))), Const(name + ".c", 0.7978845608028654f));
        var th = Emit("Tanh", name + ".tanh", inner);
        var half = Emit("Mul", name + ".mul", x, Const(name + ".half", 0.5f));
        g.Node.Add(Node("Mul", name, [half, Emit("Add", name + ".add", th, Const(name + ".one", 1f))], output));
    }

    private string Fresh(string stem)
    {
        string s;
        do s = $"{stem}_{_fresh++}"; while (!names.Add(s));
        return s;
    }
}
