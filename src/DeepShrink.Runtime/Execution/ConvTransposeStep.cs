using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// 2-D transposed convolution with dense float32 weights [C, O/groups, kh, kw]: GEMM + col2im through
/// <see cref="ConvTransposeKernels"/>, bias added there, + ReLU when fused.
/// </summary>
internal sealed class ConvTransposeStep(string name, int input, ConvTransposeGeometry g, float[] weight, float[] bias)
    : Step(name, "conv_transpose2d", [input], [g.C * g.H * g.W], -1, g.O * g.OH * g.OW)
{
    /// <inheritdoc/>
    public override string Describe() => $"gemm+col2im {g.KH}x{g.KW}/{g.SH}" + (FuseRelu ? " +relu" : "");

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var y = Out(f);
        ConvTransposeKernels.Forward(g with { N = f.Batch }, In(f, 0), weight, bias, y, f.Threads);
        Finish(y);
    }
}
