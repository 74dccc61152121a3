using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Graph;

/// <summary>
/// Rewrites the structured ops into standard ones with expanded dense weights: <c>shared_conv2d</c> becomes a
/// <c>conv2d</c> with its full filter bank (the runtime's load-time expansion, and ONNX's Conv) and, when asked,
/// <c>circulant_linear</c> a <c>linear</c> with its explicit [out, in] matrix (ONNX's Gemm; the runtime keeps the
/// FFT path). The expanded tensors are named <c>{tensor}.expanded</c>.
/// </summary>
public static class StructuredLowering
{
    /// <summary>True when the graph has a node <see cref="Lower"/> would rewrite.</summary>
    public static bool Needed(ModelGraph graph, bool circulant) =>
        graph.Nodes.Any(n => n.Op == StructuredOps.SharedConv || (circulant && n.Op == StructuredOps.Circulant));

    /// <summary>
    /// The rewritten graph; <paramref name="shapeOf"/> gives a stored tensor's shape and <paramref name="read"/> its values
    /// by name (only the rewritten nodes' tensors are read), <paramref name="define"/> receives each expanded tensor
    /// (name, shape, values).
    /// </summary>
    /// <param name="graph">The graph (not modified).</param>
    /// <param name="circulant">Also lower <c>circulant_linear</c> nodes (those <paramref name="lowerCirculant"/> accepts, when given).</param>
    /// <param name="shapeOf">A stored tensor's shape by name (for the graph's shapes; no values are decoded).</param>
    /// <param name="read">A stored tensor's values by name.</param>
    /// <param name="define">Receives each expanded tensor.</param>
    /// <param name="lowerCirculant">Which circulant nodes to lower (null: all).</param>
    public static ModelGraph Lower(ModelGraph graph, bool circulant, Func<string, int[]?> shapeOf, Func<string, float[]> read, Action<string, int[], float[]> define,
        Func<CirculantAttrs, bool>? lowerCirculant = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var g = graph.Clone();
        GraphAnalysis.Analyze(g, shapeOf, out var shapes);
        int[] ShapeOf(string name) => shapeOf(name) ?? throw new FormatException($"tensor '{name}' is missing");
        foreach (var n in g.Nodes)
        {
            if (n.Op == StructuredOps.SharedConv)
            {
                var (w, wd) = (ShapeOf(n.Params["weight"]), read(n.Params["weight"]));
                var a = SharedConvAttrs.Of(n, w);
                var wm = a.WeightMap(w);
                Replace(n, "conv2d", "weight", wm.Shape, wm.Apply(wd), define);
                if (n.Params.TryGetValue("bias", out var bn))
                    Replace(n, "conv2d", "bias", [a.OutChannels], a.BiasMap(w[0]).Apply(read(bn)), define);
                n.Attrs.Remove("sharing"); n.Attrs.Remove("order"); n.Attrs.Remove("input_order");
                a.Conv.WriteTo(n);
            }
            else if (circulant && n.Op == StructuredOps.Circulant)
            {
                var a = CirculantAttrs.Of(n, ShapeOf(n.Params["weight"]), shapes[n.Inputs[0]]);
                if (lowerCirculant is not null && !lowerCirculant(a)) continue;
                Replace(n, "linear", "weight", [a.OutFeatures, a.InFeatures], Dense(a, read(n.Params["weight"])), define);
                n.Attrs.Remove("input_features"); n.Attrs.Remove("out_features"); n.Attrs.Remove("sign_seed");
            }
        }
        return g;
    }

    /// <summary>
    /// The explicit matrix W [out_features, in_features] of a circulant_linear node: the top-left corner of the
    /// block grid times D, W[r, s] = blocks[r / b, s / b, (r - s) mod b] d[s] (computed, not approximated).
    /// </summary>
    public static float[] Dense(CirculantAttrs a, ReadOnlySpan<float> blocks) // blocks [p, q, b]
    {
        int b = a.Shape.BlockSize, q = a.Shape.InBlocks, inF = a.InFeatures;
        var d = a.Signs();
        var m = new float[a.OutFeatures * inF];
        for (int r = 0; r < a.OutFeatures; r++)
            for (int s = 0; s < inF; s++)
            {
                float v = blocks[((r / b) * q + s / b) * b + ((r % b) - (s % b) + b) % b];
                m[r * inF + s] = d.Length == 0 ? v : v * d[s];
            }
        return m;
    }

    private static void Replace(GraphNode n, string op, string role, int[] shape, float[] data, Action<string, int[], float[]> define)
    {
        var name = n.Params[role] + ".expanded";
        define(name, shape, data);
        n.Params[role] = name;
        n.Op = op;
    }
}
