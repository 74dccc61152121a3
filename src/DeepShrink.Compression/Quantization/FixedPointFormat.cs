using DeepShrink.Core;

namespace DeepShrink.Compression.Quantization;

/// <summary>
/// A signed fixed-point number format &lt;WL, FL&gt; (Gupta et al., "Deep Learning with Limited
/// Numerical Precision", ICML 2015): word length WL bits, FL of them fractional, so values are
/// multiples of eps = 2^-FL in [-2^(WL-1), 2^(WL-1) - 1] * eps.
/// </summary>
/// <param name="WordBits">Word length WL (2..32).</param>
/// <param name="FractionBits">Fraction length FL (may exceed WL or be negative).</param>
public readonly record struct FixedPointFormat(int WordBits, int FractionBits)
{
    /// <summary>Throws on out-of-range lengths.</summary>
    public FixedPointFormat Validate()
    {
        if (WordBits < 2 || WordBits > 32) throw new ArgumentOutOfRangeException(nameof(WordBits), $"word length must be in [2, 32], got {WordBits}");
        if (FractionBits < -32 || FractionBits > 64) throw new ArgumentOutOfRangeException(nameof(FractionBits), $"fraction length must be in [-32, 64], got {FractionBits}");
        return this;
    }

    /// <summary>Resolution eps = 2^-FL.</summary>
    public double Epsilon => Math.ScaleB(1.0, -FractionBits);

    /// <summary>Largest representable value.</summary>
    public double MaxValue => (Math.ScaleB(1.0, WordBits - 1) - 1) * Epsilon;

    /// <summary>Rounds one value (nearest, or stochastic with the uniform sample <paramref name="u"/>).</summary>
    public float Round(float x, bool stochastic = false, float u = 0f) => Ops.RoundFixed(x, WordBits, FractionBits, stochastic, u);

    /// <summary>Rounds a span in place: stochastically when <paramref name="rng"/> is given, else to nearest.</summary>
    public void RoundInPlace(Span<float> values, Rng? rng) => Ops.RoundFixedSpan(values, values, WordBits, FractionBits, rng);

    /// <inheritdoc/>
    public override string ToString() => $"<{WordBits}, {FractionBits}>";
}
