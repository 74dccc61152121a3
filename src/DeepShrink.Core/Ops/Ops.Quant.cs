using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>
    /// Affine quantisation of one value: <c>q = clamp(round(x / scale) + zeroPoint, qMin, qMax)</c>,
    /// rounding half to even. NaN maps to the zero point.
    /// </summary>
    public static int QuantizeValue(float x, float scale, int zeroPoint, int qMin, int qMax)
    {
        float r = MathF.Round(x / scale, MidpointRounding.ToEven);
        if (float.IsNaN(r)) return zeroPoint;
        // Clamp in float first: huge ratios must not overflow the int conversion.
        r = Math.Clamp(r + zeroPoint, qMin, qMax);
        return (int)r;
    }

    /// <summary>Affine dequantisation <c>scale * (float)(q - zeroPoint)</c>, bit-identical to the int8 codec's decode.</summary>
    public static float DequantizeValue(int q, float scale, int zeroPoint) => scale * (float)(q - zeroPoint);

    /// <summary>
    /// Fake quantisation (quantise then dequantise) with the straight-through estimator.
    /// </summary>
    /// <remarks>
    /// Forward: <c>y = scale * (clamp(round(x / scale) + zp, qMin, qMax) - zp)</c> (Jacob et al., CVPR 2018,
    /// eq. 1 and sec. 3). Backward: the rounding is treated as the identity (Bengio et al. 2013), so
    /// <c>dy/dx = 1</c> where the value is inside the representable range and 0 where it was clamped.
    /// </remarks>
    public static Tensor FakeQuantize(Tensor x, float scale, int zeroPoint, int qMin, int qMax)
    {
        CheckQuantRange(scale, zeroPoint, qMin, qMax);
        var xc = x.ContiguousData();
        var r = new Tensor(x.Shape);
        var xs = xc.Span; var rs = r.Span;
        for (int i = 0; i < rs.Length; i++) rs[i] = DequantizeValue(QuantizeValue(xs[i], scale, zeroPoint, qMin, qMax), scale, zeroPoint);
        if (!Engine.WillRecord(x)) return r;
        // Inside the range exactly when the unclamped code lies in [qMin, qMax].
        float lo = (qMin - zeroPoint - 0.5f) * scale, hi = (qMax - zeroPoint + 0.5f) * scale;
        return Engine.Record(r, new LambdaNode("FakeQuantize", g => new[] { PassWhere(g, xc, v => v >= lo && v <= hi) }, x));
    }

    /// <summary>
    /// Binarisation <c>sign(x)</c> with sign(0) = +1, and the straight-through estimator with hard-tanh
    /// clipping: the gradient passes unchanged where <c>|x| &lt;= clip</c> and is cancelled elsewhere.
    /// </summary>
    /// <remarks>
    /// BinaryNet (Hubara, Courbariaux et al., NeurIPS 2016, eq. 4): <c>g_r = g_q 1_{|r| &lt;= 1}</c>.
    /// Use <c>clip = +inf</c> for the plain identity estimator (BinaryConnect's weights).
    /// </remarks>
    public static Tensor BinarizeSte(Tensor x, float clip = 1f)
    {
        if (!(clip > 0f)) throw new ArgumentOutOfRangeException(nameof(clip), $"clip must be positive, got {clip}");
        var xc = x.ContiguousData();
        var r = new Tensor(x.Shape);
        var xs = xc.Span; var rs = r.Span;
        for (int i = 0; i < rs.Length; i++) rs[i] = xs[i] < 0f ? -1f : 1f;
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("BinarizeSte", g => new[] { PassWhere(g, xc, v => MathF.Abs(v) <= clip) }, x));
    }

    /// <summary>
    /// Rounds one value to the fixed-point format <c>&lt;wordBits, fracBits&gt;</c>: a multiple of
    /// <c>2^-fracBits</c> in <c>[-2^(wordBits-1), 2^(wordBits-1) - 1] * 2^-fracBits</c>, saturating.
    /// </summary>
    /// <remarks>
    /// Gupta et al., "Deep Learning with Limited Numerical Precision" (ICML 2015), sec. 3 with
    /// eps = 2^-FL: round to nearest gives floor(x) + eps when x - floor(x) &gt;= eps/2 (ties up);
    /// stochastic rounding gives floor(x) + eps with probability (x - floor(x)) / eps, so E[round(x)] = x
    /// inside the range. <paramref name="u"/> is a uniform sample in [0, 1) (ignored for nearest).
    /// </remarks>
    public static float RoundFixed(float x, int wordBits, int fracBits, bool stochastic, float u = 0f)
    {
        CheckFixed(wordBits, fracBits);
        var (inv, eps, min, max) = FixedConstants(wordBits, fracBits);
        return RoundFixedCore(x, inv, eps, min, max, stochastic, u);
    }

    private static (double Inv, double Eps, double Min, double Max) FixedConstants(int wordBits, int fracBits)
        => (Math.ScaleB(1.0, fracBits), Math.ScaleB(1.0, -fracBits), -Math.ScaleB(1.0, wordBits - 1), Math.ScaleB(1.0, wordBits - 1) - 1);

    // x * 2^FL is exact in double, so floor and the fraction are exact.
    private static float RoundFixedCore(float x, double inv, double eps, double min, double max, bool stochastic, float u)
    {
        double scaled = x * inv;
        double fl = Math.Floor(scaled);
        double frac = scaled - fl;
        double k = stochastic ? (u < frac ? fl + 1 : fl) : (frac >= 0.5 ? fl + 1 : fl);
        if (double.IsNaN(k)) k = 0;
        return (float)(Math.Clamp(k, min, max) * eps);
    }

    /// <summary>
    /// Fixed-point rounding of a tensor (forward) whose gradient is itself rounded to a fixed-point
    /// format (backward), simulating fixed-point activations and back-propagated gradients.
    /// </summary>
    /// <param name="x">Input.</param>
    /// <param name="wordBits">Word length of the forward format (2..32).</param>
    /// <param name="fracBits">Fraction length of the forward format.</param>
    /// <param name="gradWordBits">Word length of the gradient format, or 0 to pass gradients in float.</param>
    /// <param name="gradFracBits">Fraction length of the gradient format.</param>
    /// <param name="rng">Source of stochastic rounding; null rounds to nearest.</param>
    /// <remarks>
    /// Gupta et al. (ICML 2015). Outside the representable range the forward saturates and the
    /// gradient is cancelled; inside, rounding is treated as the identity (straight-through).
    /// </remarks>
    public static Tensor FixedPointRound(Tensor x, int wordBits, int fracBits, int gradWordBits, int gradFracBits, Rng? rng)
    {
        CheckFixed(wordBits, fracBits);
        if (gradWordBits != 0) CheckFixed(gradWordBits, gradFracBits);
        var xc = x.ContiguousData();
        var r = new Tensor(x.Shape);
        RoundFixedSpan(xc.Span, r.Span, wordBits, fracBits, rng);
        if (!Engine.WillRecord(x)) return r;
        double eps = Math.ScaleB(1.0, -fracBits);
        double lo = -Math.ScaleB(1.0, wordBits - 1) * eps, hi = (Math.ScaleB(1.0, wordBits - 1) - 1) * eps;
        return Engine.Record(r, new LambdaNode("FixedPointRound", g =>
        {
            var t = PassWhere(g, xc, v => v >= lo && v <= hi);
            if (gradWordBits != 0) RoundFixedSpan(t.Span, t.Span, gradWordBits, gradFracBits, rng);
            return new[] { t };
        }, x));
    }

    /// <summary>Rounds every element of <paramref name="src"/> into <paramref name="dst"/> (may alias); stochastic when <paramref name="rng"/> is given.</summary>
    public static void RoundFixedSpan(ReadOnlySpan<float> src, Span<float> dst, int wordBits, int fracBits, Rng? rng)
    {
        CheckFixed(wordBits, fracBits);
        if (dst.Length != src.Length) throw new ArgumentException($"destination has {dst.Length} elements, source {src.Length}");
        var (inv, eps, min, max) = FixedConstants(wordBits, fracBits);
        if (rng is null) for (int i = 0; i < src.Length; i++) dst[i] = RoundFixedCore(src[i], inv, eps, min, max, false, 0f);
        else for (int i = 0; i < src.Length; i++) dst[i] = RoundFixedCore(src[i], inv, eps, min, max, true, rng.NextFloat());
    }

    private static Tensor PassWhere(Tensor g, Tensor x, Func<float, bool> pass)
    {
        var gs = g.ContiguousData().Span; var xs = x.Span;
        var t = new Tensor(x.Shape); var ts = t.Span;
        for (int i = 0; i < ts.Length; i++) ts[i] = pass(xs[i]) ? gs[i] : 0f;
        return t;
    }

    private static void CheckQuantRange(float scale, int zeroPoint, int qMin, int qMax)
    {
        if (!(scale > 0f) || float.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be positive and finite, got {scale}");
        if (qMin >= qMax) throw new ArgumentException($"empty quantisation range [{qMin}, {qMax}]");
        if (zeroPoint < qMin || zeroPoint > qMax) throw new ArgumentOutOfRangeException(nameof(zeroPoint), $"zero point {zeroPoint} outside [{qMin}, {qMax}]");
    }

    private static void CheckFixed(int wordBits, int fracBits)
    {
        if (wordBits < 2 || wordBits > 32) throw new ArgumentOutOfRangeException(nameof(wordBits), $"word length must be in [2, 32], got {wordBits}");
        if (fracBits < -32 || fracBits > 64) throw new ArgumentOutOfRangeException(nameof(fracBits), $"fraction length must be in [-32, 64], got {fracBits}");
    }
}
