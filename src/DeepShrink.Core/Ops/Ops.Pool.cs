using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>Max pooling, NCHW, square window.</summary>
    /// <remarks>Gradient flows to the first maximum of each window (row-major order); padding never wins.</remarks>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0)
        => MaxPool2d(x, (kernel, kernel), (stride, stride), (padding, padding));

    /// <summary>Max pooling, NCHW, rectangular window.</summary>
    /// <remarks>Gradient flows to the first maximum of each window (row-major order); padding never wins.</remarks>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        var g = PoolGeometryFor("MaxPool2d", x, kernel, stride, padding);
        var xc = x.ContiguousData();
        var y = Uninitialized(g.N, g.C, g.OH, g.OW);
        bool record = Engine.WillRecord(x);
        var arg = record ? GC.AllocateUninitializedArray<int>(y.Size) : null;
        PoolKernels.MaxForward(g, xc.Span, y.Span, arg);
        if (!record) return y;
        return Engine.Record(y, new LambdaNode("MaxPool2d", gy =>
        {
            var dx = GradResult(x.Shape);
            PoolKernels.MaxBackward(g, gy.ContiguousData().Span, arg, dx.Span);
            return new[] { dx };
        }, x));
    }

    /// <summary>Average pooling, NCHW, square window (padding counts as zeros in the average).</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride, int padding = 0)
        => AvgPool2d(x, (kernel, kernel), (stride, stride), (padding, padding));

    /// <summary>
    /// Average pooling, NCHW, rectangular window. With <paramref name="countIncludePad"/> padding counts as zeros in the
    /// average; without it each window is divided by the number of real pixels it covers (ONNX count_include_pad = 0).
    /// </summary>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, bool countIncludePad = true)
    {
        var g = PoolGeometryFor("AvgPool2d", x, kernel, stride, padding);
        var y = Uninitialized(g.N, g.C, g.OH, g.OW);
        PoolKernels.AvgForward(g, x.ContiguousData().Span, y.Span, countIncludePad);
        if (!Engine.WillRecord(x)) return y;
        return Engine.Record(y, new LambdaNode("AvgPool2d", gy =>
        {
            var dx = GradResult(x.Shape);
            PoolKernels.AvgBackward(g, gy.ContiguousData().Span, dx.Span, countIncludePad);
            return new[] { dx };
        }, x));
    }

    /// <summary>Global average pooling [N, C, H, W] -> [N, C, 1, 1].</summary>
    public static Tensor GlobalAvgPool2d(Tensor x)
    {
        if (x.Rank != 4 || x.Shape[2] < 1 || x.Shape[3] < 1)
            throw new ArgumentException($"GlobalAvgPool2d: input must be 4-D [N, C, H, W] with H, W >= 1, got {ShapeUtil.Format(x.Shape)}");
        int planes = x.Shape[0] * x.Shape[1], plane = x.Shape[2] * x.Shape[3];
        var y = Uninitialized(x.Shape[0], x.Shape[1], 1, 1);
        PoolKernels.GlobalAvgForward(planes, plane, x.ContiguousData().Span, y.Span);
        if (!Engine.WillRecord(x)) return y;
        return Engine.Record(y, new LambdaNode("GlobalAvgPool2d", gy =>
        {
            var dx = GradResult(x.Shape);
            PoolKernels.GlobalAvgBackward(planes, plane, gy.ContiguousData().Span, dx.Span);
            return new[] { dx };
        }, x));
    }

    private static PoolGeometry PoolGeometryFor(string op, Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        if (x.Rank != 4) throw new ArgumentException($"{op}: input must be 4-D [N, C, H, W], got {ShapeUtil.Format(x.Shape)}");
        try
        {
            return new PoolGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{op}: input {ShapeUtil.Format(x.Shape)}, kernel {kernel}, stride {stride}, padding {padding}: {e.Message}", e);
        }
    }
}
