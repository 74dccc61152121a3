using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>
    /// 2-D transposed convolution (ONNX ConvTranspose), NCHW. x [N, C, H, W], w [C, O/groups, kh, kw], bias [O];
    /// strides, dilations, groups, per-side pads and output padding from <paramref name="a"/>.
    /// </summary>
    /// <remarks>
    /// y[n, o, iy sh + ky dh - pt, ix sw + kx dw - pl] += x[n, c, iy, ix] w[c, o - group start, ky, kx] for c in
    /// o's group (positions outside the output dropped), plus bias[o]; computed by GEMM + col2im in
    /// <see cref="ConvTransposeKernels"/>. The gradients are those of the adjoint convolution.
    /// </remarks>
    public static Tensor ConvTranspose2d(Tensor x, Tensor w, Tensor? bias, ConvTransposeAttrs a)
    {
        if (x.Rank != 4) throw new ArgumentException($"ConvTranspose2d: input must be 4-D [N, C, H, W], got {ShapeUtil.Format(x.Shape)}");
        if (w.Rank != 4) throw new ArgumentException($"ConvTranspose2d: weight must be 4-D [C, O/groups, kh, kw], got {ShapeUtil.Format(w.Shape)}");
        if (!a.IsValid || a.Groups < 1 || w.Shape[0] != x.Shape[1] || x.Shape[1] % a.Groups != 0)
            throw new ArgumentException($"ConvTranspose2d: weight {ShapeUtil.Format(w.Shape)} with groups {a.Groups} does not fit input {ShapeUtil.Format(x.Shape)}");
        int o = w.Shape[1] * a.Groups;
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != o))
            throw new ArgumentException($"ConvTranspose2d: bias {ShapeUtil.Format(bias.Shape)} expected [{o}]");
        var g = new ConvTransposeGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], o, w.Shape[2], w.Shape[3], a.StrideH, a.StrideW,
            a.PadTop, a.PadLeft, a.PadBottom, a.PadRight, a.DilationH, a.DilationW, a.OutPadH, a.OutPadW, a.Groups);
        var xc = x.ContiguousData(); var wc = w.ContiguousData(); var bc = bias?.ContiguousData();
        var y = Uninitialized(g.N, g.O, g.OH, g.OW);
        ConvTransposeKernels.Forward(g, xc.Span, wc.Span, bc is null ? default : bc.Span, y.Span);
        var inputs = bias is null ? new[] { x, w } : new[] { x, w, bias };
        if (!Engine.WillRecord(inputs)) return y;
        return Engine.Record(y, new LambdaNode("ConvTranspose2d", gy =>
        {
            var gc = gy.ContiguousData();
            var dx = x.RequiresGrad ? GradResult(x.Shape) : null;
            var dw = w.RequiresGrad ? GradResult(w.Shape) : null;
            var db = bias is not null && bias.RequiresGrad ? GradResult(bias.Shape) : null;
            ConvTransposeKernels.Backward(g, xc.Span, wc.Span, gc.Span,
                dx is null ? default : dx.Span, dw is null ? default : dw.Span, db is null ? default : db.Span);
            return bias is null ? new[] { dx, dw } : new[] { dx, dw, db };
        }, inputs));
    }
}
