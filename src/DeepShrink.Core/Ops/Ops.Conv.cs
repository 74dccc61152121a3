namespace DeepShrink.Core;

// STUB: signatures fixed; implementation owned by the conv/pool kernel work.
public static partial class Ops
{
    /// <summary>2-D convolution (cross-correlation), NCHW. x [N, C, H, W], w [O, C/groups, kh, kw], bias [O].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(x, w, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with per-axis stride, padding and dilation.</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
        => throw new NotImplementedException("Conv2d");
}
