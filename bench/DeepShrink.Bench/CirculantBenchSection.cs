using DeepShrink.Core;
using DeepShrink.Core.Kernels;
using MathNet.Numerics.IntegralTransforms;

namespace DeepShrink.Bench;

/// <summary>
/// Structured matrices: our real FFT against Math.NET Numerics' managed FFT, and the circulant layer
/// (y = C(c) D x through FFTs, <see cref="BlockCirculantKernels"/>) against our dense layer (y = x W^T by
/// <see cref="Gemm"/>, a GEMV at batch 1) of the same size n, at batch 1 and 64, timed in alternating repeats.
/// </summary>
/// <remarks>
/// Keys: <c>fft_{n}_us_1t</c>, <c>mathnet_fft_{n}_us_1t</c>, <c>fft_{n}_vs_mathnet_1t</c> (their time / ours, forward
/// real FFT, n = 256, 1000 (Bluestein) and 4096); for n = 4096 <c>dense_4096_b{B}_us</c>, <c>circulant_4096_b{B}_us</c> and
/// <c>circulant_4096_b{B}_speedup_vs_dense</c> (dense time / circulant time; the circulant forward includes the
/// FFT of c, as in training), <c>circulant_4096_b1_speedup_vs_dense_cached</c> (weight spectrum precomputed, as
/// in inference), <c>circulant_4096_param_ratio</c> (n^2 / n: the signs are regenerated from a seed),
/// <c>block_circulant_4096_bs256_b{B}_speedup_vs_dense</c> and its <c>_param_ratio</c>; per size
/// <c>circulant_{n}_b{B}_speedup_vs_dense</c> for n = 16 .. 4096; and <c>circulant_crossover_n_b{B}</c>, the smallest
/// measured n from which on the circulant layer is faster than the dense one at every larger measured n
/// (-1 when it is not faster even at 4096).
/// </remarks>
public sealed class CirculantSection : IKernelBenchSection
{
    /// <summary>Sizes of the crossover sweep.</summary>
    public static readonly int[] Sizes = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

    /// <summary>Batch sizes compared.</summary>
    public static readonly int[] Batches = [1, 64];

    /// <inheritdoc/>
    public string Name => "circulant (FFT) vs dense";

    /// <inheritdoc/>
    public void Run(KernelBenchContext ctx)
    {
        int threads = ctx.Options.Threads;
        var clock = threads == 1 ? ctx.Options.SingleThreadClock : BenchClock.Wall;
        foreach (int n in new[] { 256, 1000, 4096 }) CompareFft(ctx, n);
        var rng = new Rng(16);
        foreach (int batch in Batches)
        {
            int crossover = -1;
            foreach (int n in Sizes)
            {
                var op = new Operands(rng, n, batch, n);
                var t = Pair(ctx, () => op.Dense(threads), () => op.Circulant(threads), clock);
                ctx.Set($"circulant_{n}_b{batch}_speedup_vs_dense", Math.Round(t.RatioAOverB, 3));
                if (t.RatioAOverB > 1) { if (crossover < 0) crossover = n; }
                else crossover = -1;
                if (n != 4096) continue;
                ctx.Set($"dense_4096_b{batch}_us", Math.Round(t.MedianA * 1e6, 2));
                ctx.Set($"circulant_4096_b{batch}_us", Math.Round(t.MedianB * 1e6, 2));
                ctx.Set($"circulant_4096_b{batch}_speedup_vs_dense_spread", Math.Round(t.RatioSpread, 3));
                if (batch == 1)
                {
                    var cached = Pair(ctx, () => op.Dense(threads), () => op.CirculantCached(threads), clock);
                    ctx.Set("circulant_4096_b1_speedup_vs_dense_cached", Math.Round(cached.RatioAOverB, 3));
                }
                var block = new Operands(rng, n, batch, 256);
                var tb = Pair(ctx, () => block.Dense(threads), () => block.Circulant(threads), clock);
                ctx.Set($"block_circulant_4096_bs256_b{batch}_speedup_vs_dense", Math.Round(tb.RatioAOverB, 3));
            }
            ctx.Set($"circulant_crossover_n_b{batch}", crossover);
        }
        ctx.Set("circulant_4096_param_ratio", 4096.0 * 4096 / new BlockCirculantShape(1, 1, 4096).Parameters);
        ctx.Set("block_circulant_4096_bs256_param_ratio", 4096.0 * 4096 / BlockCirculantShape.ForMatrix(4096, 4096, 256).Parameters);
    }

    private static PairedTiming Pair(KernelBenchContext ctx, Action a, Action b, BenchClock clock) =>
        PairedTiming.Measure(a, b, ctx.Options.Repeats, ctx.Options.WarmupSeconds, ctx.Options.MinRepeatSeconds, clock);

    /// <summary>Forward real FFT of n random samples: ours against Math.NET Numerics (in place, unscaled), one thread.</summary>
    private static void CompareFft(KernelBenchContext ctx, int n)
    {
        var rng = new Rng((ulong)n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 2f * rng.NextFloat() - 1f;
        var plan = FftPlan.Get(n);
        var spectrum = new float[plan.SpectrumFloats];
        var theirs = new float[n + 2];
        MathNet.Numerics.Control.UseSingleThread();
        var t = PairedTiming.Measure(
            () => { x.CopyTo(theirs, 0); Fourier.ForwardReal(theirs, n, FourierOptions.NoScaling); },
            () => plan.Forward(x, spectrum),
            ctx.Options.Repeats, ctx.Options.WarmupSeconds, ctx.Options.MinRepeatSeconds, ctx.Options.SingleThreadClock);
        ctx.Set($"fft_{n}_us_1t", Math.Round(t.MedianB * 1e6, 3));
        ctx.Set($"mathnet_fft_{n}_us_1t", Math.Round(t.MedianA * 1e6, 3));
        ctx.Set($"fft_{n}_vs_mathnet_1t", Math.Round(t.RatioAOverB, 3));
    }

    /// <summary>One layer size: dense weight [n, n], block-circulant blocks of <c>blockSize</c>, input [batch, n].</summary>
    private sealed class Operands
    {
        private readonly int _n, _batch;
        private readonly BlockCirculantShape _shape;
        private readonly float[] _x, _w, _blocks, _signs, _spectra, _y;

        public Operands(Rng rng, int n, int batch, int blockSize)
        {
            _n = n; _batch = batch;
            _shape = BlockCirculantShape.ForMatrix(n, n, blockSize);
            _x = Random(rng, batch * n); _w = Random(rng, n * n); _blocks = Random(rng, _shape.Parameters);
            _signs = Ops.RandomSigns(n, 5).ToArray();
            _spectra = new float[_shape.OutBlocks * _shape.InBlocks * _shape.SpectrumFloats];
            BlockCirculantKernels.WeightSpectra(_shape, _blocks, _spectra);
            _y = new float[batch * n];
        }

        /// <summary>Our dense layer: y = x W^T (what Ops.Linear runs).</summary>
        public void Dense(int threads) => Gemm.Sgemm(false, true, _batch, _n, _n, 1f, _x, _n, _w, _n, 0f, _y, _n, threads);

        /// <summary>Our circulant layer's forward, including the FFT of its defining vectors.</summary>
        public void Circulant(int threads) => BlockCirculantKernels.Forward(_shape, _batch, _x, _blocks, _signs, _y, threads);

        /// <summary>The same from precomputed weight spectra.</summary>
        public void CirculantCached(int threads) => BlockCirculantKernels.ForwardSpectra(_shape, _batch, _x, _spectra, _signs, _y, threads);

        private static float[] Random(Rng rng, int count)
        {
            var a = new float[count];
            for (int i = 0; i < count; i++) a[i] = 2f * rng.NextFloat() - 1f;
            return a;
        }
    }
}
