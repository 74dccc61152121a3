using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Bench;

/// <summary>
/// Timings of the LeNet-5 convolution and pooling layers (kernel level, forward + backward) for
/// <c>bench kernels</c>: median wall-clock milliseconds over repeats after a warm-up.
/// </summary>
/// <remarks>
/// LeNet-5 as trained here: conv 20@5x5 on 1x28x28 -> max-pool 2 -> conv 50@5x5 -> max-pool 2 -> fc 500 -> fc 10.
/// conv1 backward computes weight and bias gradients only (its input is the data); conv2 backward
/// also computes the input gradient. The epoch estimate multiplies by the 938 batches of 64 in 60,000 images.
/// </remarks>
public static class ConvBenchmarks
{
    /// <summary>Minimum warm-up time per measured body (tiered compilation promotes hot code after ~100 ms).</summary>
    public const double WarmupMs = 500;

    private const int MaxWarmupCalls = 500;

    /// <summary>Batches per epoch of 60,000 images at batch 64.</summary>
    public const int BatchesPerEpoch = 938;

    /// <summary>
    /// Returns <c>conv_lenet5_conv1_fwdbwd_b64_ms</c>, <c>conv_lenet5_conv2_fwdbwd_b64_ms</c>, the forward-only
    /// parts (<c>..._fwd_b64_ms</c>), <c>pool_lenet5_pool1_fwdbwd_b64_ms</c>, <c>pool_lenet5_pool2_fwdbwd_b64_ms</c>
    /// and <c>conv_lenet5_convpool_epoch_s</c> (conv + pool share of one epoch, from the medians). The batch
    /// size in the key names follows <paramref name="batch"/>.
    /// </summary>
    public static Dictionary<string, double> LeNet5(int batch = 64, int repeats = 20, int warmup = 5, int threads = 0, ulong seed = 1)
    {
        if (batch < 1 || repeats < 1 || warmup < 0) throw new ArgumentException($"batch {batch}, repeats {repeats}, warmup {warmup}: need batch, repeats >= 1 and warmup >= 0");
        var rng = new Rng(seed);
        var res = new Dictionary<string, double>();
        double epochMs = 0;
        foreach (var (name, g, needDx) in new[]
        {
            ("conv1", new ConvGeometry(batch, 1, 28, 28, 20, 5, 5), false),
            ("conv2", new ConvGeometry(batch, 20, 12, 12, 50, 5, 5), true),
        })
        {
            var x = Random(rng, g.InputSize); var w = Random(rng, g.WeightSize); var b = Random(rng, g.O);
            var dy = Random(rng, g.OutputSize);
            var y = new float[g.OutputSize]; var dx = new float[g.InputSize]; var dw = new float[g.WeightSize]; var db = new float[g.O];
            res[$"conv_lenet5_{name}_fwd_b{batch}_ms"] = Median(repeats, warmup, () => ConvKernels.Forward(g, x, w, b, y, threads));
            double both = Median(repeats, warmup, () =>
            {
                ConvKernels.Forward(g, x, w, b, y, threads);
                ConvKernels.Backward(g, x, w, dy, needDx ? dx : default, dw, db, threads);
            });
            res[$"conv_lenet5_{name}_fwdbwd_b{batch}_ms"] = both;
            epochMs += both;
        }
        foreach (var (name, g) in new[] { ("pool1", new PoolGeometry(batch, 20, 24, 24, 2, 2, 2, 2)), ("pool2", new PoolGeometry(batch, 50, 8, 8, 2, 2, 2, 2)) })
        {
            var x = Random(rng, g.InputSize); var dy = Random(rng, g.OutputSize);
            var y = new float[g.OutputSize]; var arg = new int[g.OutputSize]; var dx = new float[g.InputSize];
            double both = Median(repeats, warmup, () =>
            {
                PoolKernels.MaxForward(g, x, y, arg, threads);
                PoolKernels.MaxBackward(g, dy, arg, dx, threads);
            });
            res[$"pool_lenet5_{name}_fwdbwd_b{batch}_ms"] = both;
            epochMs += both;
        }
        res["conv_lenet5_convpool_epoch_s"] = epochMs * BatchesPerEpoch / 1000.0;
        return res;
    }

    private static float[] Random(Rng rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.NextFloat() - 0.5f;
        return a;
    }

    private static double Median(int repeats, int warmup, Action body)
    {
        // At least `warmup` calls and WarmupMs of running, so tiered JIT has reached its optimised code.
        long w0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || (i < MaxWarmupCalls && Stopwatch.GetElapsedTime(w0).TotalMilliseconds < WarmupMs); i++) body();
        var t = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            t[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(t);
        return repeats % 2 == 1 ? t[repeats / 2] : 0.5 * (t[repeats / 2 - 1] + t[repeats / 2]);
    }
}
