using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>2-D convolution (cross-correlation), NCHW. x [N, C, H, W], w [O, C/groups, kh, kw], bias [O].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(x, w, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-D convolution with per-axis stride, padding and dilation.</summary>
    /// <remarks>
    /// y[n, o, oy, ox] = bias[o] + sum over c in o's group, ky, kx of
    /// x[n, c, oy sh - ph + ky dh, ox sw - pw + kx dw] w[o, c - group start, ky, kx] (zero padding);
    /// computed by im2col + GEMM in <see cref="ConvKernels"/>.
    /// </remarks>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        var g = ConvGeometryFor(x, w, bias, stride, padding, dilation, groups);
        var xc = x.ContiguousData(); var wc = w.ContiguousData(); var bc = bias?.ContiguousData();
        var y = Uninitialized(g.N, g.O, g.OH, g.OW);
        ConvKernels.Forward(g, xc.Span, wc.Span, bc is null ? default : bc.Span, y.Span);
        var inputs = bias is null ? new[] { x, w } : new[] { x, w, bias };
        if (!Engine.WillRecord(inputs)) return y;
        return Engine.Record(y, new LambdaNode("Conv2d", gy =>
        {
            var gc = gy.ContiguousData();
            var dx = x.RequiresGrad ? GradResult(x.Shape) : null;
            var dw = w.RequiresGrad ? GradResult(w.Shape) : null;
            var db = bias is not null && bias.RequiresGrad ? GradResult(bias.Shape) : null;
            ConvKernels.Backward(g, xc.Span, wc.Span, gc.Span,
                dx is null ? default : dx.Span, dw is null ? default : dw.Span, db is null ? default : db.Span);
            return bias is null ? new[] { dx, dw } : new[] { dx, dw, db };
        }, inputs));
    }

    /// <summary>A tensor whose storage is not zeroed, for results a kernel overwrites completely.</summary>
    private static Tensor Uninitialized(params int[] shape) => new(GC.AllocateUninitializedArray<float>(ShapeUtil.Numel(shape)), shape);

    /// <summary>
    /// An uninitialised gradient a backward node returns to the engine (which may recycle its storage, see
    /// <see cref="GradBufferPool"/>); the node must overwrite it completely and keep no reference to it.
    /// </summary>
    private static Tensor GradResult(params int[] shape) => new(GradBufferPool.Rent(ShapeUtil.Numel(shape)), shape) { EngineOwned = true };

    private static ConvGeometry ConvGeometryFor(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        if (x.Rank != 4) throw new ArgumentException($"Conv2d: input must be 4-D [N, C, H, W], got {ShapeUtil.Format(x.Shape)}");
        if (w.Rank != 4) throw new ArgumentException($"Conv2d: weight must be 4-D [O, C/groups, kh, kw], got {ShapeUtil.Format(w.Shape)}");
        if (groups < 1) throw new ArgumentException($"Conv2d: groups must be >= 1, got {groups}");
        int c = x.Shape[1], o = w.Shape[0];
        if (c % groups != 0 || o % groups != 0)
            throw new ArgumentException($"Conv2d: groups={groups} must divide input channels {c} and output channels {o}");
        if (w.Shape[1] != c / groups)
            throw new ArgumentException($"Conv2d: weight {ShapeUtil.Format(w.Shape)} expected [{o}, {c / groups}, kh, kw] for input {ShapeUtil.Format(x.Shape)} with groups={groups}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != o))
            throw new ArgumentException($"Conv2d: bias {ShapeUtil.Format(bias.Shape)} expected [{o}]");
        try
        {
            return new ConvGeometry(x.Shape[0], c, x.Shape[2], x.Shape[3], o, w.Shape[2], w.Shape[3],
                stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Conv2d: input {ShapeUtil.Format(x.Shape)}, weight {ShapeUtil.Format(w.Shape)}: {e.Message}", e);
        }
    }
}
