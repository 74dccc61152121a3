using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>Max or average pooling (rectangular window; average counts padding as zeros or, without
/// count_include_pad, divides by the real pixels of each window) with the Core kernels.</summary>
internal sealed class PoolStep(string name, string op, int input, PoolGeometry g, bool countIncludePad = true)
    : Step(name, op, [input], [g.C * g.H * g.W], -1, g.C * g.OH * g.OW)
{
    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var geo = g with { N = f.Batch };
        if (Op == "maxpool2d") PoolKernels.MaxForward(geo, In(f, 0), Out(f), default, f.Threads);
        else PoolKernels.AvgForward(geo, In(f, 0), Out(f), countIncludePad, f.Threads);
        Finish(Out(f));
    }
}

/// <summary>Mean of each [H, W] plane: [N, C, H, W] -> [N, C, 1, 1].</summary>
internal sealed class GlobalAvgPoolStep(string name, int input, int channels, int plane)
    : Step(name, "global_avgpool2d", [input], [channels * plane], -1, channels)
{
    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        PoolKernels.GlobalAvgForward(f.Batch * OutputSize, plane, In(f, 0), Out(f));
        Finish(Out(f));
    }
}

/// <summary>Inference batch normalisation over [N, C, inner] with the Core kernel (running statistics).</summary>
/// <remarks>
/// Ioffe and Szegedy, "Batch Normalization" (ICML 2015): <c>y = gamma (x - mean) / sqrt(var + eps) + beta</c>,
/// the same arithmetic as the training engine's eval mode.
/// </remarks>
internal sealed class BatchNormStep(string name, int input, float[] gamma, float[] beta, float[] mean, float[] variance, float eps, int inner)
    : Step(name, "batchnorm", [input], [gamma.Length * inner], -1, gamma.Length * inner)
{
    /// <inheritdoc/>
    public override bool CanRunInPlace => true;

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var y = Out(f);
        BatchNormKernels.Normalize(f.Batch, gamma.Length, inner, In(f, 0), gamma, beta, mean, variance, eps, y, f.Threads);
        Finish(y);
    }
}

/// <summary>
/// A few-channel convolution (+ bias, + ReLU) and the 3 x 3 / 2 max pool after it in one step
/// (<see cref="ConvFewChannels"/>): an image network's stem, whose full-size output is never written.
/// </summary>
internal sealed class ConvPoolStep(string name, int input, int inputSize, ConvFewChannels kernel)
    : Step(name, "conv2d+maxpool2d", [input], [inputSize], -1, kernel.OutputSize)
{
    /// <inheritdoc/>
    public override string Describe() => "few-channels-direct+maxpool" + base.Describe();

    /// <inheritdoc/>
    public override void Run(Frame f) => kernel.Forward(f.Batch, In(f, 0), Out(f), FuseRelu, f.Threads);
}
