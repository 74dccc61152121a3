using System.Numerics.Tensors;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => LeakyRelu(x, 0f);

    /// <summary>x for x &gt; 0, slope * x otherwise.</summary>
    public static Tensor LeakyRelu(Tensor x, float slope)
    {
        var xc = x.ContiguousData();
        var r = Uninitialized(x.Shape);
        if (slope == 0f) ActivationKernels.ReluForward(xc.Span, r.Span);
        else ActivationKernels.LeakyReluForward(slope, xc.Span, r.Span);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode(slope == 0f ? "Relu" : "LeakyRelu", g =>
        {
            var t = GradResult(x.Shape);
            ActivationKernels.LeakyReluBackward(slope, xc.Span, g.ContiguousData().Span, t.Span);
            return new[] { t };
        }, x));
    }

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x)
    {
        var r = MapData(x, TensorPrimitives.Tanh);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Tanh", g =>
        {
            var gs = g.ContiguousData().Span; var rs = r.Span;
            var t = new Tensor(x.Shape); var ts = t.Span;
            for (int i = 0; i < ts.Length; i++) ts[i] = gs[i] * (1f - rs[i] * rs[i]);
            return new[] { t };
        }, x));
    }

    /// <summary>Logistic sigmoid.</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var r = MapData(x, TensorPrimitives.Sigmoid);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Sigmoid", g =>
        {
            var gs = g.ContiguousData().Span; var rs = r.Span;
            var t = new Tensor(x.Shape); var ts = t.Span;
            for (int i = 0; i < ts.Length; i++) ts[i] = gs[i] * rs[i] * (1f - rs[i]);
            return new[] { t };
        }, x));
    }

    private const float GeluC = 0.7978845608028654f; // sqrt(2/pi)

    /// <summary>GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    /// <remarks>Hendrycks and Gimpel, 2016.</remarks>
    public static Tensor Gelu(Tensor x)
    {
        var xc = x.ContiguousData();
        var xs = xc.Span;
        var th = new float[x.Size];
        for (int i = 0; i < th.Length; i++) { float v = xs[i]; th[i] = MathF.Tanh(GeluC * (v + 0.044715f * v * v * v)); }
        var r = new Tensor(x.Shape); var rs = r.Span;
        for (int i = 0; i < rs.Length; i++) rs[i] = 0.5f * xs[i] * (1f + th[i]);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Gelu", g =>
        {
            var gs = g.ContiguousData().Span; var xv = xc.Span;
            var t = new Tensor(x.Shape); var ts = t.Span;
            for (int i = 0; i < ts.Length; i++)
            {
                float v = xv[i], tt = th[i];
                float d = 0.5f * (1f + tt) + 0.5f * v * (1f - tt * tt) * GeluC * (1f + 3f * 0.044715f * v * v);
                ts[i] = gs[i] * d;
            }
            return new[] { t };
        }, x));
    }

    /// <summary>Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p).
    /// Identity when not training or p = 0.</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, Rng rng)
    {
        if (p < 0f || p >= 1f) throw new ArgumentOutOfRangeException(nameof(p), "dropout probability must be in [0, 1)");
        if (!training || p == 0f) return x;
        var mask = new Tensor(x.Shape); var ms = mask.Span;
        float scale = 1f / (1f - p);
        for (int i = 0; i < ms.Length; i++) ms[i] = rng.NextFloat() >= p ? scale : 0f;
        var r = Zip(x, mask, TensorPrimitives.Multiply);
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("Dropout", g => new[] { Zip(g, mask, TensorPrimitives.Multiply) }, x)) : r;
    }
}
