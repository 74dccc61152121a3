using System.Numerics.Tensors;

namespace DeepShrink.Runtime.Execution;

/// <summary>Element-wise activation: relu, leaky_relu (slope), tanh, sigmoid, gelu (tanh approximation).</summary>
internal sealed class ActivationStep(string name, string op, int input, int output, int size, float slope)
    : Step(name, op, [input], [size], output, size)
{
    private const float GeluC = 0.7978845608028654f; // sqrt(2/pi)

    /// <summary>Ops this step implements.</summary>
    public static readonly string[] Kinds = ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"];

    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        switch (Op)
        {
            case "relu": TensorPrimitives.Max(x, 0f, y); break;
            case "leaky_relu":
                for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
                break;
            case "tanh": TensorPrimitives.Tanh(x, y); break;
            case "sigmoid": TensorPrimitives.Sigmoid(x, y); break;
            default:
                for (int i = 0; i < y.Length; i++)
                {
                    float v = x[i];
                    y[i] = 0.5f * v * (1f + MathF.Tanh(GeluC * (v + 0.044715f * v * v * v)));
                }
                break;
        }
        Finish(y);
    }
}

/// <summary>Per-channel affine map y = x scale[c] + shift[c] over [N, C, inner]: inference batch norm.</summary>
/// <remarks>
/// Ioffe and Szegedy, "Batch Normalization" (ICML 2015): at inference
/// <c>y = gamma (x - mean) / sqrt(var + eps) + beta = x scale + shift</c> with
/// <c>scale = gamma / sqrt(var + eps)</c>, <c>shift = beta - mean scale</c>, computed once at load.
/// </remarks>
internal sealed class ChannelAffineStep(string name, int input, int output, float[] scale, float[] shift, int inner)
    : Step(name, "batchnorm", [input], [scale.Length * inner], output, scale.Length * inner)
{
    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        int c = scale.Length;
        for (int s = 0; s < f.Batch; s++)
        {
            int o = s * c * inner;
            if (inner == 1)
            {
                TensorPrimitives.MultiplyAdd(x.Slice(o, c), scale, shift, y.Slice(o, c));
                continue;
            }
            for (int ch = 0; ch < c; ch++)
            {
                var ys = y.Slice(o + ch * inner, inner);
                TensorPrimitives.Multiply(x.Slice(o + ch * inner, inner), scale[ch], ys);
                TensorPrimitives.Add(ys, shift[ch], ys);
            }
        }
        Finish(y);
    }
}

/// <summary>Element-wise sum of two values of the same shape (residual connections).</summary>
internal sealed class AddStep(string name, int a, int b, int output, int size)
    : Step(name, "add", [a, b], [size, size], output, size)
{
    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var y = Out(f);
        TensorPrimitives.Add(In(f, 0), In(f, 1), y);
        Finish(y);
    }
}

/// <summary>Mean of each [H, W] plane: [N, C, H, W] -> [N, C, 1, 1].</summary>
internal sealed class GlobalAvgPoolStep(string name, int input, int output, int channels, int plane)
    : Step(name, "global_avgpool2d", [input], [channels * plane], output, channels)
{
    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        float inv = 1f / plane;
        for (int p = 0; p < y.Length; p++) y[p] = TensorPrimitives.Sum(x.Slice(p * plane, plane)) * inv;
        Finish(y);
    }
}
