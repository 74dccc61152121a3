using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// An independent interpreter of <see cref="ModelGraph"/> on decoded tensors with the autograd
/// <see cref="Ops"/> (the training engine's arithmetic) and, for pooling and the graph-v2 ops, the plain loops of
/// <see cref="ReferenceV2"/>: the reference the runtime must match.
/// </summary>
internal static class ReferenceRunner
{
    public static Tensor Run(ModelGraph g, IReadOnlyDictionary<string, Tensor> tensors, Tensor input)
    {
        using var _ = Engine.NoGrad();
        var vals = new Dictionary<string, Tensor> { [g.Input] = input };
        foreach (var n in g.Nodes)
        {
            var x = vals[n.Inputs[0]];
            Tensor P(string role) => tensors[n.Params[role]];
            Tensor? Opt(string role) => n.Params.TryGetValue(role, out var name) ? tensors[name] : null;
            vals[n.Output] = n.Op switch
            {
                "linear" => Ops.Linear(x, P("weight"), Opt("bias")),
                "conv2d" => Ops.Conv2d(x, P("weight"), Opt("bias"), (n.Int("stride_h", 1), n.Int("stride_w", 1)),
                    (n.Int("pad_h", 0), n.Int("pad_w", 0)), (n.Int("dilation_h", 1), n.Int("dilation_w", 1)), n.Int("groups", 1)),
                "batchnorm" => BatchNorm(x, P("weight"), P("bias"), P("running_mean"), P("running_var"), n.Float("eps", 1e-5f)),
                "relu" => Ops.Relu(x),
                "leaky_relu" => Ops.LeakyRelu(x, n.Float("slope", 0.01f)),
                "tanh" => Ops.Tanh(x),
                "sigmoid" => Ops.Sigmoid(x),
                "gelu" => Ops.Gelu(x),
                "global_avgpool2d" => Ops.GlobalAvgPool2d(x),
                "flatten" => x.ContiguousData().Reshape([.. x.Shape[..n.Int("start_axis", 1)], x.Size / ShapeUtil.Numel(x.Shape.AsSpan(0, n.Int("start_axis", 1)))]),
                "identity" => x,
                _ => ReferenceV2.Apply(n, n.Inputs.Select(v => vals[v]).ToArray(), P),
            };
        }
        return vals[g.Output];
    }

    /// <summary>
    /// Loads <paramref name="graph"/> over <paramref name="encoded"/> under every kernel policy and asserts that the
    /// runtime's output equals the reference's (same shape, max abs difference at most <paramref name="tol"/>) on
    /// random inputs of each batch size.
    /// </summary>
    public static void AssertRuntimeMatches(ModelGraph graph, IReadOnlyDictionary<string, Format.Codecs.EncodedTensor> encoded, int[] batches, Rng rng, float tol)
    {
        var decoded = encoded.ToDictionary(kv => kv.Key, kv => kv.Value.DecodeTensor());
        foreach (var policy in Enum.GetValues<KernelPolicy>())
        {
            var m = InferenceModel.Load(graph, n => encoded.GetValueOrDefault(n), null, new RuntimeOptions { Kernels = policy, CalibrationBatch = 3 });
            foreach (int b in batches)
            {
                var x = Tensor.Randn(rng, 1f, [b, .. graph.InputShape]);
                var want = Run(graph, decoded, x);
                var got = m.Forward(x);
                Assert.Equal(want.Shape, got.Shape);
                Assert.True(want.MaxAbsDiff(got) <= tol, $"{policy} batch {b}: {want.MaxAbsDiff(got)}");
            }
        }
    }

    /// <summary>Inference batch norm written out per element in float64.</summary>
    private static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor variance, float eps)
    {
        var xc = x.ContiguousData();
        var y = new Tensor(x.Shape);
        int c = x.Shape[1], inner = x.Size / x.Shape[0] / c;
        for (int i = 0; i < x.Size; i++)
        {
            int ch = i / inner % c;
            y.Span[i] = (float)((xc.Span[i] - mean.Span[ch]) / Math.Sqrt(variance.Span[ch] + (double)eps) * gamma.Span[ch] + beta.Span[ch]);
        }
        return y;
    }
}
