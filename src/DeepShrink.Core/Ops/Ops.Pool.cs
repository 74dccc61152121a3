namespace DeepShrink.Core;

// STUB: signatures fixed; implementation owned by the conv/pool kernel work.
public static partial class Ops
{
    /// <summary>Max pooling, NCHW, square window.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0) => throw new NotImplementedException("MaxPool2d");

    /// <summary>Average pooling, NCHW, square window (padding counts as zeros in the average).</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride, int padding = 0) => throw new NotImplementedException("AvgPool2d");

    /// <summary>Global average pooling [N, C, H, W] -> [N, C, 1, 1].</summary>
    public static Tensor GlobalAvgPool2d(Tensor x) => throw new NotImplementedException("GlobalAvgPool2d");
}
