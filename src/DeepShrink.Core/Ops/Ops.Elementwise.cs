using System.Numerics.Tensors;
using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var r = Binary(a, b, TensorPrimitives.Add, TensorPrimitives.Add, TensorPrimitives.Add);
        if (!Engine.WillRecord(a, b)) return r;
        return Engine.Record(r, new LambdaNode("Add", g => new[] { SumToShape(g, a.Shape), SumToShape(g, b.Shape) }, a, b));
    }

    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var r = Binary(a, b, TensorPrimitives.Subtract, TensorPrimitives.Subtract, null);
        if (!Engine.WillRecord(a, b)) return r;
        return Engine.Record(r, new LambdaNode("Sub", g => new[]
        {
            a.RequiresGrad ? SumToShape(g, a.Shape) : null,
            b.RequiresGrad ? NegData(SumToShape(g, b.Shape)) : null,
        }, a, b));
    }

    /// <summary>a * b (element-wise) with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var r = Binary(a, b, TensorPrimitives.Multiply, TensorPrimitives.Multiply, TensorPrimitives.Multiply);
        if (!Engine.WillRecord(a, b)) return r;
        return Engine.Record(r, new LambdaNode("Mul", g => new[]
        {
            a.RequiresGrad ? SumToShape(Binary(g, b, TensorPrimitives.Multiply, TensorPrimitives.Multiply, TensorPrimitives.Multiply), a.Shape) : null,
            b.RequiresGrad ? SumToShape(Binary(g, a, TensorPrimitives.Multiply, TensorPrimitives.Multiply, TensorPrimitives.Multiply), b.Shape) : null,
        }, a, b));
    }

    /// <summary>a / b (element-wise) with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var r = Binary(a, b, TensorPrimitives.Divide, TensorPrimitives.Divide, DivLeft);
        if (!Engine.WillRecord(a, b)) return r;
        return Engine.Record(r, new LambdaNode("Div", g =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad) ga = SumToShape(Binary(g, b, TensorPrimitives.Divide, TensorPrimitives.Divide, DivLeft), a.Shape);
            if (b.RequiresGrad)
            {
                // d(a/b)/db = -a/b^2 = -r/b
                var t = Binary(r, b, TensorPrimitives.Divide, TensorPrimitives.Divide, DivLeft);
                t = Binary(g, t, TensorPrimitives.Multiply, TensorPrimitives.Multiply, TensorPrimitives.Multiply);
                gb = NegData(SumToShape(t, b.Shape));
            }
            return new[] { ga, gb };
        }, a, b));
    }

    // scalar / span (the span is the right operand)
    private static void DivLeft(ReadOnlySpan<float> y, float x, Span<float> d) => TensorPrimitives.Divide(x, y, d);

    private static Tensor NegData(Tensor t)
    {
        var r = new Tensor(t.Shape);
        TensorPrimitives.Negate(t.ContiguousData().Span, r.Span);
        return r;
    }

    private static Tensor MapData(Tensor x, Action<ReadOnlySpan<float>, Span<float>> f)
    {
        var r = new Tensor(x.Shape);
        f(x.ContiguousData().Span, r.Span);
        return r;
    }

    private static Tensor Zip(Tensor x, Tensor y, SpanBinary f)
    {
        var r = new Tensor(x.Shape);
        f(x.ContiguousData().Span, y.ContiguousData().Span, r.Span);
        return r;
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var r = NegData(x);
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("Neg", g => new[] { NegData(g) }, x)) : r;
    }

    /// <summary>x + s.</summary>
    public static Tensor AddScalar(Tensor x, float s)
    {
        var r = new Tensor(x.Shape);
        TensorPrimitives.Add(x.ContiguousData().Span, s, r.Span);
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("AddScalar", g => new[] { g }, x)) : r;
    }

    /// <summary>x * s.</summary>
    public static Tensor MulScalar(Tensor x, float s)
    {
        var r = new Tensor(x.Shape);
        TensorPrimitives.Multiply(x.ContiguousData().Span, s, r.Span);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("MulScalar", g =>
        {
            var gx = new Tensor(g.Shape);
            TensorPrimitives.Multiply(g.ContiguousData().Span, s, gx.Span);
            return new[] { gx };
        }, x));
    }

    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x)
    {
        var r = MapData(x, TensorPrimitives.Exp);
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("Exp", g => new[] { Zip(g, r, TensorPrimitives.Multiply) }, x)) : r;
    }

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x)
    {
        var r = MapData(x, TensorPrimitives.Log);
        return Engine.WillRecord(x) ? Engine.Record(r, new LambdaNode("Log", g => new[] { Zip(g, x, TensorPrimitives.Divide) }, x)) : r;
    }

    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var r = MapData(x, TensorPrimitives.Sqrt);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Sqrt", g =>
        {
            var t = Zip(g, r, TensorPrimitives.Divide);
            TensorPrimitives.Multiply(t.Span, 0.5f, t.Span);
            return new[] { t };
        }, x));
    }

    /// <summary>x^2.</summary>
    public static Tensor Square(Tensor x)
    {
        var r = Zip(x, x, TensorPrimitives.Multiply);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Square", g =>
        {
            var t = Zip(g, x, TensorPrimitives.Multiply);
            TensorPrimitives.Multiply(t.Span, 2f, t.Span);
            return new[] { t };
        }, x));
    }

    /// <summary>x^p for a constant exponent.</summary>
    public static Tensor Pow(Tensor x, float p)
    {
        var r = new Tensor(x.Shape);
        TensorPrimitives.Pow(x.ContiguousData().Span, p, r.Span);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Pow", g =>
        {
            var t = new Tensor(x.Shape);
            TensorPrimitives.Pow(x.ContiguousData().Span, p - 1, t.Span);
            TensorPrimitives.Multiply(t.Span, p, t.Span);
            TensorPrimitives.Multiply(t.Span, g.ContiguousData().Span, t.Span);
            return new[] { t };
        }, x));
    }

    /// <summary>|x| (gradient sign(x), 0 at 0).</summary>
    public static Tensor Abs(Tensor x)
    {
        var r = MapData(x, TensorPrimitives.Abs);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Abs", g =>
        {
            var xs = x.ContiguousData().Span; var gs = g.ContiguousData().Span;
            var t = new Tensor(x.Shape); var ts = t.Span;
            for (int i = 0; i < ts.Length; i++) ts[i] = xs[i] > 0 ? gs[i] : xs[i] < 0 ? -gs[i] : 0f;
            return new[] { t };
        }, x));
    }

    /// <summary>Clamps to [min, max]; gradient passes where the input is inside the range.</summary>
    public static Tensor Clamp(Tensor x, float min, float max)
    {
        var r = new Tensor(x.Shape);
        TensorPrimitives.Clamp(x.ContiguousData().Span, min, max, r.Span);
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("Clamp", g =>
        {
            var xs = x.ContiguousData().Span; var gs = g.ContiguousData().Span;
            var t = new Tensor(x.Shape); var ts = t.Span;
            for (int i = 0; i < ts.Length; i++) ts[i] = xs[i] >= min && xs[i] <= max ? gs[i] : 0f;
            return new[] { t };
        }, x));
    }
}
