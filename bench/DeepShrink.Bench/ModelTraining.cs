using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Bench;

/// <summary>Training throughput of a zoo model: SGD steps (forward, cross-entropy, backward, update) at batch 64.</summary>
public static class ModelTraining
{
    /// <summary>Images per second, median over <paramref name="steps"/> timed steps after 3 warm-up steps.</summary>
    public static double ImagesPerSecond(string arch, int steps, int batch = 64, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var model = ModelZoo.Create(arch, new ModelConfig(), rng);
        model.Train();
        var opt = new Sgd(model.NamedParameters(), 0.01f, 0.9f);
        var x = Tensor.Randn(rng, 1f, batch, 1, 28, 28);
        var y = Enumerable.Range(0, batch).Select(_ => rng.NextInt(10)).ToArray();
        var times = new double[steps];
        for (int s = -3; s < steps; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            opt.ZeroGrad();
            Ops.CrossEntropy(model.Forward(x), y).Backward();
            opt.Step();
            if (s >= 0) times[s] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        return batch / times[steps / 2];
    }
}
