using DeepShrink.Core.Graph;
using static DeepShrink.Onnx.OnnxProto;

namespace DeepShrink.Onnx;

/// <summary>The graph-v2 ops whose ONNX form needs shapes or constants: broadcasting arithmetic, reshape, pad, clip, hard_swish.</summary>
internal sealed partial class OnnxNodeWriter
{
    /// <summary>Add/Sub/Mul/Div. A constant 'b' is an initializer right-aligned against [batch, sample...]; a second input of
    /// lower rank is reshaped to [batch, 1, ..., its sample shape] first, since ONNX would align its batch axis elsewhere.</summary>
    private void Arithmetic(GraphNode n, string[] inputs, string output)
    {
        string op = n.Op switch { "add" => "Add", "sub" => "Sub", "mul" => "Mul", _ => "Div" };
        if (inputs.Length == 1)
        {
            g.Node.Add(Node(op, n.Name, [inputs[0], n.Params["b"]], output));
            return;
        }
        int rank = Math.Max(shapes[n.Inputs[0]].Length, shapes[n.Inputs[1]].Length);
        var operands = new string[2];
        for (int i = 0; i < 2; i++)
        {
            var s = shapes[n.Inputs[i]];
            operands[i] = s.Length == rank ? inputs[i] : ReshapeTo(n.Name + ".align", inputs[i], [.. Enumerable.Repeat(1, rank - s.Length), .. s]);
        }
        g.Node.Add(Node(op, n.Name, operands, output));
    }

    /// <summary>Reshape to the inferred sample shape, written out (batch axis 0 = copied).</summary>
    private void Reshape(GraphNode n, string x, string output)
    {
        var shape = Fresh(n.Name + ".shape");
        g.Initializer.Add(Int64Tensor(shape, [0L, .. shapes[n.Output].Select(d => (long)d)]));
        g.Node.Add(Node("Reshape", n.Name, [x, shape], output));
    }

    private string ReshapeTo(string stem, string x, int[] sample)
    {
        var shape = Fresh(stem + ".shape");
        g.Initializer.Add(Int64Tensor(shape, [0L, .. sample.Select(d => (long)d)]));
        return Emit("Reshape", stem, x, shape);
    }

    /// <summary>Pad (opset 11+): pads as an int64 input over every axis, [x1_begin, ..., xr_begin, x1_end, ..., xr_end].</summary>
    private void Pad(GraphNode n, string x, string output)
    {
        var p = n.Ints("pads")!;
        int rank = shapes[n.Inputs[0]].Length + 1;
        var pads = new long[2 * rank];
        pads[rank - 2] = p[0]; pads[rank - 1] = p[1]; pads[2 * rank - 2] = p[2]; pads[2 * rank - 1] = p[3];
        var padsName = Fresh(n.Name + ".pads");
        g.Initializer.Add(Int64Tensor(padsName, pads));
        g.Node.Add(Node("Pad", n.Name, [x, padsName, Const(n.Name + ".value", n.Float("value", 0f))], output)); // mode "constant" is the default
    }

    /// <summary>Clip (opset 11+): the bounds are optional inputs; an absent min is the empty name.</summary>
    private void Clip(GraphNode n, string x, string output)
    {
        string Bound(string key) => n.Attrs.TryGetValue(key, out var v) && v.Kind == AttrKind.Number ? Const(n.Name + "." + key, (float)v.AsNumber()) : "";
        string lo = Bound("min"), hi = Bound("max");
        g.Node.Add(Node("Clip", n.Name, hi.Length > 0 ? [x, lo, hi] : lo.Length > 0 ? [x, lo] : [x], output));
    }

    /// <summary>x HardSigmoid(x) with alpha 1/6, beta 1/2 (HardSwish itself is opset 14).</summary>
    private void HardSwish(string name, string x, string output)
    {
        var gate = Fresh(name + ".gate");
        g.Node.Add(Node("HardSigmoid", gate, [x], gate, Float("alpha", 1f / 6f), Float("beta", 0.5f)));
        g.Node.Add(Node("Mul", name, [x, gate], output));
    }
}
