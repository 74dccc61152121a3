using DeepShrink.Core.Kernels;

namespace DeepShrink.Core.Tests;

/// <summary>
/// <see cref="FftPlan"/> against the direct float64 DFT of <see cref="FftReference"/> for every power-of-two
/// size from 1 to 4096 (the sizes the circulant layers and the benchmark use) and for other sizes (Bluestein:
/// odd, even, prime, 784 = 28^2, 1000), round trips, linearity, thread safety and the error for unsupported sizes. Re-run on the AVX2 and scalar paths by
/// <see cref="IsaFallbackVector256Tests"/> and <see cref="IsaFallbackScalarTests"/>.
/// </summary>
public class FftTests
{
    public static TheoryData<int> Sizes => new() { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 3, 5, 6, 7, 12, 100, 257, 300, 784, 1000 };

    private static float[] Signal(Rng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 2f * rng.NextFloat() - 1f;
        return x;
    }

    private static double Norm(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += (double)v * v;
        return Math.Sqrt(s);
    }

    /// <summary>Error budget of a float32 FFT relative to ||x||: a few ulps per stage.</summary>
    private static double Tolerance(int n) => 4e-7 * (Math.Log2(n) + 2) * 4;

    [Theory, MemberData(nameof(Sizes))]
    public void Forward_matches_direct_dft_in_float64(int n)
    {
        var x = Signal(new Rng((ulong)(1000 + n)), n);
        var plan = FftPlan.Get(n);
        var spec = new float[plan.SpectrumFloats];
        plan.Forward(x, spec);
        var re = new double[plan.Bins]; var im = new double[plan.Bins];
        FftReference.Forward(x, re, im);
        double worst = 0;
        for (int k = 0; k < plan.Bins; k++)
            worst = Math.Max(worst, Math.Max(Math.Abs(spec[k] - re[k]), Math.Abs(spec[plan.Bins + k] - im[k])));
        Assert.True(worst <= Tolerance(n) * Norm(x), $"n={n}: worst bin error {worst:G3} > {Tolerance(n) * Norm(x):G3}");
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Inverse_matches_direct_inverse_dft_in_float64(int n)
    {
        var rng = new Rng((ulong)(2000 + n));
        var plan = FftPlan.Get(n);
        // An arbitrary Hermitian half-spectrum (bins 0 and n/2 real).
        var spec = Signal(rng, plan.SpectrumFloats);
        spec[plan.Bins] = 0f;
        spec[^1] = 0f;
        var x = new float[n];
        plan.Inverse(spec, x);
        var re = new double[plan.Bins]; var im = new double[plan.Bins];
        for (int k = 0; k < plan.Bins; k++) { re[k] = spec[k]; im[k] = spec[plan.Bins + k]; }
        var expected = new double[n];
        FftReference.Inverse(re, im, expected);
        double worst = 0;
        for (int t = 0; t < n; t++) worst = Math.Max(worst, Math.Abs(x[t] - expected[t]));
        // ||x|| = ||X_full|| / sqrt(n), and the full spectrum has about twice the energy of the half kept.
        double scale = Norm(spec) * Math.Sqrt(2.0 / n);
        Assert.True(worst <= Tolerance(n) * scale, $"n={n}: worst sample error {worst:G3} > {Tolerance(n) * scale:G3}");
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Round_trip_returns_the_signal(int n)
    {
        var x = Signal(new Rng((ulong)(3000 + n)), n);
        var plan = FftPlan.Get(n);
        var spec = new float[plan.SpectrumFloats];
        var back = new float[n];
        plan.Forward(x, spec);
        plan.Inverse(spec, back);
        double worst = 0;
        for (int t = 0; t < n; t++) worst = Math.Max(worst, Math.Abs(back[t] - x[t]));
        Assert.True(worst <= 2 * Tolerance(n), $"n={n}: round-trip error {worst:G3}");
    }

    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(1024)]
    [InlineData(300)]
    public void Transform_is_linear(int n)
    {
        var rng = new Rng((ulong)(4000 + n));
        var x = Signal(rng, n); var y = Signal(rng, n);
        const float a = 0.75f, b = -1.5f;
        var combo = new float[n];
        for (int t = 0; t < n; t++) combo[t] = a * x[t] + b * y[t];
        var plan = FftPlan.Get(n);
        var fx = new float[plan.SpectrumFloats]; var fy = new float[plan.SpectrumFloats]; var fc = new float[plan.SpectrumFloats];
        plan.Forward(x, fx); plan.Forward(y, fy); plan.Forward(combo, fc);
        double worst = 0;
        for (int i = 0; i < fc.Length; i++) worst = Math.Max(worst, Math.Abs(fc[i] - (a * fx[i] + b * fy[i])));
        Assert.True(worst <= 3 * Tolerance(n) * (Norm(x) + Norm(y)), $"n={n}: linearity error {worst:G3}");
    }

    [Fact]
    public void Shared_plan_gives_identical_results_from_many_threads()
    {
        const int n = 2048;
        var plan = FftPlan.Get(n);
        Assert.Same(plan, FftPlan.Get(n));
        var rng = new Rng(5000);
        var signals = Enumerable.Range(0, 16).Select(_ => Signal(rng, n)).ToArray();
        var serial = signals.Select(s => { var o = new float[plan.SpectrumFloats]; plan.Forward(s, o); return o; }).ToArray();
        var parallel = new float[signals.Length][];
        Parallel.For(0, signals.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var o = new float[plan.SpectrumFloats];
            for (int rep = 0; rep < 20; rep++) plan.Forward(signals[i], o);
            parallel[i] = o;
        });
        for (int i = 0; i < signals.Length; i++) Assert.Equal(serial[i], parallel[i]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    [InlineData(FftPlan.MaxBluesteinSize + 1)]
    [InlineData(FftPlan.MaxSize * 2)]
    public void Unsupported_sizes_are_rejected_with_a_clear_error(int n)
    {
        var e = Assert.Throws<ArgumentException>(() => FftPlan.Get(n));
        Assert.Contains($"FFT size {n} is not supported", e.Message);
        Assert.False(FftPlan.IsSupportedSize(n));
    }

    [Fact]
    public void Wrong_buffer_lengths_are_rejected()
    {
        var plan = FftPlan.Get(16);
        Assert.Throws<ArgumentException>(() => plan.Forward(new float[15], new float[plan.SpectrumFloats]));
        Assert.Throws<ArgumentException>(() => plan.Forward(new float[16], new float[16]));
        Assert.Throws<ArgumentException>(() => plan.Inverse(new float[plan.SpectrumFloats], new float[8]));
    }
}
