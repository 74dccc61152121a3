using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Nn;

/// <summary>Max pooling with a square window.</summary>
public sealed class MaxPool2d(int kernel, int stride = 0, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>Stride (defaults to the window size).</summary>
    public int Stride { get; } = stride == 0 ? kernel : stride;
    /// <summary>Padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.MaxPool2d(x, Kernel, Stride, Padding);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
        => g.Add(path, "maxpool2d", new[] { input }, null, new Dictionary<string, AttrValue> { ["kernel"] = Kernel, ["stride"] = Stride, ["pad"] = Padding });
}

/// <summary>Average pooling with a square window.</summary>
public sealed class AvgPool2d(int kernel, int stride = 0, int padding = 0) : Module
{
    /// <summary>Window size.</summary>
    public int Kernel { get; } = kernel;
    /// <summary>Stride (defaults to the window size).</summary>
    public int Stride { get; } = stride == 0 ? kernel : stride;
    /// <summary>Padding.</summary>
    public int Padding { get; } = padding;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.AvgPool2d(x, Kernel, Stride, Padding);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
        => g.Add(path, "avgpool2d", new[] { input }, null, new Dictionary<string, AttrValue> { ["kernel"] = Kernel, ["stride"] = Stride, ["pad"] = Padding });
}

/// <summary>Adaptive average pooling to 1x1 (global average pooling): [N, C, H, W] -> [N, C, 1, 1].</summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Creates the layer; only output size 1 is supported.</summary>
    public AdaptiveAvgPool2d(int outputSize = 1)
    {
        if (outputSize != 1) throw new NotSupportedException("AdaptiveAvgPool2d supports output size 1 only");
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.GlobalAvgPool2d(x);

    /// <inheritdoc/>
    public override string AppendGraph(GraphBuilder g, string input, string path)
        => g.Add(path, "global_avgpool2d", new[] { input });
}
