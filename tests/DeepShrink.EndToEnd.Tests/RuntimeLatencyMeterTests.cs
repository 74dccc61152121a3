using DeepShrink.Cli.Infrastructure;
using DeepShrink.Core;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.EndToEnd.Tests;

/// <summary>The CLI's latency meter loads a search's baseline once and loads it again when its weights change.</summary>
public class RuntimeLatencyMeterTests
{
    [Fact]
    public void A_search_reuses_the_baseline_until_its_weights_change()
    {
        var baseline = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1));
        var meter = new RuntimeLatencyMeter(seconds: 0.02, rounds: 2);
        for (int i = 0; i < 3; i++)
        {
            var candidate = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng((ulong)(10 + i)));
            var m = meter.Compare(baseline, candidate);
            Assert.True(m.BaselineMs > 0 && m.CandidateMs > 0 && m.Ratio > 0);
        }
        Assert.Equal(1, meter.BaselineLoads);

        baseline.Parameters().First().Storage[0] += 1f; // a changed baseline is loaded again, never timed stale
        meter.Compare(baseline, ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(20)));
        Assert.Equal(2, meter.BaselineLoads);

        var other = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(1)); // another module: loaded too
        meter.Compare(other, baseline);
        Assert.Equal(3, meter.BaselineLoads);
    }
}
