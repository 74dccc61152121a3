using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Bench;

/// <summary>Training throughput of a zoo model: SGD steps (forward, cross-entropy, backward, update) at batch 64.</summary>
/// <remarks>
/// Steady state, as a training run of many epochs sees it: the timed steps follow a warm-up of at least
/// <see cref="WarmupSteps"/> steps and <see cref="WarmupSeconds"/> seconds, long enough for tiered
/// compilation to have promoted the hot kernels and autograd code to optimised code (a few warm-up steps
/// alone would time mostly unoptimised code).
/// </remarks>
public static class ModelTraining
{
    /// <summary>Fewest warm-up steps.</summary>
    public const int WarmupSteps = 3;

    /// <summary>Least warm-up time (seconds).</summary>
    public const double WarmupSeconds = 1.5;

    /// <summary>Most warm-up steps (bounds the warm-up of very slow models).</summary>
    public const int MaxWarmupSteps = 500;

    /// <summary>Images per second, median over <paramref name="steps"/> timed steps after the warm-up.</summary>
    public static double ImagesPerSecond(string arch, int steps, int batch = 64, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var model = ModelZoo.Create(arch, new ModelConfig(), rng);
        model.Train();
        var opt = new Sgd(model.NamedParameters(), 0.01f, 0.9f);
        var x = Tensor.Randn(rng, 1f, batch, 1, 28, 28);
        var y = Enumerable.Range(0, batch).Select(_ => rng.NextInt(10)).ToArray();
        void Step()
        {
            opt.ZeroGrad();
            Ops.CrossEntropy(model.Forward(x), y).Backward();
            opt.Step();
        }
        long warm = Stopwatch.GetTimestamp();
        for (int w = 0; w < MaxWarmupSteps && (w < WarmupSteps || Stopwatch.GetElapsedTime(warm).TotalSeconds < WarmupSeconds); w++) Step();
        var times = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Step();
            times[s] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        return batch / times[steps / 2];
    }
}
