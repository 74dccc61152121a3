using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>
    /// Constant padding of the last two axes of an [..., H, W] tensor by (top, left, bottom, right)
    /// elements filled with <paramref name="value"/>; the gradient is the interior of the output gradient.
    /// </summary>
    public static Tensor Pad2d(Tensor x, int top, int left, int bottom, int right, float value = 0f)
    {
        if (x.Rank < 2) throw new ArgumentException($"Pad2d: input must have at least 2 axes, got {ShapeUtil.Format(x.Shape)}");
        if (top < 0 || left < 0 || bottom < 0 || right < 0) throw new ArgumentException("Pad2d: pads must be >= 0");
        int h = x.Shape[^2], w = x.Shape[^1], oh = h + top + bottom, ow = w + left + right;
        var shape = x.Shape.ToArray();
        shape[^2] = oh; shape[^1] = ow;
        int planes = h * w == 0 ? 0 : x.Size / (h * w);
        var y = new Tensor(shape);
        var ys = y.Span;
        if (value != 0f) ys.Fill(value);
        var xs = x.ContiguousData().Span;
        for (int p = 0; p < planes; p++)
            for (int r = 0; r < h; r++)
                xs.Slice((p * h + r) * w, w).CopyTo(ys.Slice((p * oh + r + top) * ow + left, w));
        if (!Engine.WillRecord(x)) return y;
        return Engine.Record(y, new LambdaNode("Pad2d", g =>
        {
            var gs = g.ContiguousData().Span;
            var dx = new Tensor(x.Shape);
            var ds = dx.Span;
            for (int p = 0; p < planes; p++)
                for (int r = 0; r < h; r++)
                    gs.Slice((p * oh + r + top) * ow + left, w).CopyTo(ds.Slice((p * h + r) * w, w));
            return new[] { dx };
        }, x));
    }
}
