using DeepShrink.Core.Graph;
using DeepShrink.Format;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Plan-time rewrite: an inference batch norm that is the only reader of a convolution's output is folded
/// into that convolution's weights and bias and removed (the convolution then produces the batch norm's value, so a
/// following ReLU or residual add fuses with it).
/// </summary>
/// <remarks>
/// Ioffe and Szegedy, "Batch Normalization" (ICML 2015), in inference form
/// <c>y = gamma (z - mean) / sqrt(var + eps) + beta</c> with <c>z = W x + b</c>; with
/// <c>s[o] = gamma[o] / sqrt(var[o] + eps)</c> this is the convolution with <c>W'[o, ...] = s[o] W[o, ...]</c> and
/// <c>b'[o] = s[o] (b[o] - mean[o]) + beta[o]</c> (s in float64, the results rounded once to float32).
/// Only dense (<c>dense-f32</c>, <c>dense-f16</c>) weights without an input transform are folded: scaling the
/// rows of a codebook, sparse or int8 matrix would change what the codec stores. The caller's graph is not
/// modified; the folded tensors get fresh names and are served by the returned lookup.
/// </remarks>
internal static class BatchNormFolding
{
    /// <summary>Returns the rewritten graph and a tensor lookup that also serves the folded tensors.</summary>
    public static (ModelGraph Graph, Func<string, EncodedTensor?> Tensors) Apply(ModelGraph graph, Func<string, EncodedTensor?> tensors, DszReadOptions read)
    {
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
            foreach (var v in n.Inputs) readers[v] = readers.GetValueOrDefault(v) + 1;
        var taken = graph.ParameterNames().ToHashSet(StringComparer.Ordinal);
        var folded = new Dictionary<string, EncodedTensor>(StringComparer.Ordinal);
        var nodes = graph.Nodes.Select(Copy).ToList();
        var producer = new Dictionary<string, GraphNode>(StringComparer.Ordinal);
        var removed = new HashSet<GraphNode>();
        foreach (var n in nodes)
        {
            if (n.Op == "batchnorm" && n.Inputs.Count == 1 && n.Inputs[0] != graph.Output && readers.GetValueOrDefault(n.Inputs[0]) == 1
                && producer.TryGetValue(n.Inputs[0], out var conv) && conv.Op == "conv2d" && TryFold(conv, n, tensors, read, taken, folded))
            {   // the conv now produces the batch norm's value directly (its own value had no other reader)
                conv.Output = n.Output;
                producer[n.Output] = conv;
                removed.Add(n);
                continue;
            }
            producer[n.Output] = n;
        }
        if (folded.Count == 0) return (graph, tensors);
        var rewritten = new ModelGraph { Input = graph.Input, InputShape = graph.InputShape, Output = graph.Output, Nodes = nodes.Where(n => !removed.Contains(n)).ToList() };
        return (rewritten, name => folded.TryGetValue(name, out var t) ? t : tensors(name));
    }

    private static GraphNode Copy(GraphNode n) => new()
    {
        Name = n.Name, Op = n.Op, Inputs = n.Inputs.ToList(), Outputs = n.Outputs.ToList(),
        Params = new Dictionary<string, string>(n.Params, StringComparer.Ordinal), Attrs = new Dictionary<string, AttrValue>(n.Attrs, StringComparer.Ordinal),
    };

    /// <summary>Folds when every tensor is present with the expected shape; otherwise leaves both nodes alone (the planner reports problems).</summary>
    private static bool TryFold(GraphNode conv, GraphNode bn, Func<string, EncodedTensor?> tensors, DszReadOptions read,
        HashSet<string> taken, Dictionary<string, EncodedTensor> folded)
    {
        if (conv.Attrs.Keys.Any(k => k.StartsWith("in_", StringComparison.Ordinal)) || conv.Params.Keys.Any(k => k.StartsWith("in_", StringComparison.Ordinal)))
            return false;
        if (!conv.Params.TryGetValue("weight", out var wName) || tensors(wName) is not { } w
            || w.Codec is not (DenseCodec.F32Name or DenseCodec.F16Name) || w.Shape.Count != 4)
            return false;
        int o = w.Shape[0];
        float eps = bn.Float("eps", 1e-5f);
        if (!(eps > 0f)) return false;
        var gamma = Vector(bn, "weight", o, tensors, read);
        var beta = Vector(bn, "bias", o, tensors, read);
        var mean = Vector(bn, "running_mean", o, tensors, read);
        var variance = Vector(bn, "running_var", o, tensors, read);
        float[]? bias = conv.Params.ContainsKey("bias") ? Vector(conv, "bias", o, tensors, read) : new float[o];
        if (gamma is null || beta is null || mean is null || variance is null || bias is null) return false;

        var weights = w.Decode(read.MaxTensorElements);
        int per = weights.Length / o;
        var newBias = new float[o];
        for (int c = 0; c < o; c++)
        {
            double s = gamma[c] / Math.Sqrt(variance[c] + (double)eps);
            for (int i = c * per; i < (c + 1) * per; i++) weights[i] = (float)(weights[i] * s);
            newBias[c] = (float)(s * (bias[c] - (double)mean[c]) + beta[c]);
        }
        string wNew = Fresh(wName + "#bn", taken), bNew = Fresh(conv.Name + ".bias#bn", taken);
        folded[wNew] = DenseCodec.EncodeF32(weights, w.ShapeArray());
        folded[bNew] = DenseCodec.EncodeF32(newBias, [o]);
        conv.Params["weight"] = wNew;
        conv.Params["bias"] = bNew;
        return true;
    }

    /// <summary>A float vector of exactly <paramref name="length"/> elements, or null when absent or of another shape.</summary>
    private static float[]? Vector(GraphNode n, string role, int length, Func<string, EncodedTensor?> tensors, DszReadOptions read)
    {
        if (!n.Params.TryGetValue(role, out var name) || tensors(name) is not { } t || t.Shape.Count != 1 || t.Shape[0] != length) return null;
        return WeightCandidates.Guard(name, () => t.Decode(read.MaxTensorElements));
    }

    private static string Fresh(string name, HashSet<string> taken)
    {
        string s = name;
        for (int i = 2; !taken.Add(s); i++) s = $"{name}{i}";
        return s;
    }
}
