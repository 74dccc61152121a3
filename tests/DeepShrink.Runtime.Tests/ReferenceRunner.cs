using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// An independent interpreter of <see cref="ModelGraph"/> on decoded tensors with the autograd
/// <see cref="Ops"/> (the training engine's arithmetic): the reference the runtime must match.
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
            int k = n.Int("kernel", 2);
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
                "maxpool2d" => Ops.MaxPool2d(x, k, n.Int("stride", k), n.Int("pad", 0)),
                "avgpool2d" => Ops.AvgPool2d(x, k, n.Int("stride", k), n.Int("pad", 0)),
                "global_avgpool2d" => Ops.GlobalAvgPool2d(x),
                "flatten" => x.ContiguousData().Reshape([.. x.Shape[..n.Int("start_axis", 1)], x.Size / ShapeUtil.Numel(x.Shape.AsSpan(0, n.Int("start_axis", 1)))]),
                "add" => Ops.Add(x, vals[n.Inputs[1]]),
                "identity" => x,
                _ => throw new InvalidOperationException($"reference has no op {n.Op}"),
            };
        }
        return vals[g.Output];
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
