using DeepShrink.Compression.Jobs;
using DeepShrink.Compression.Sensitivity;
using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.Zoo;
using DeepShrink.Nn.IO;
using DeepShrink.Nn.Training;

namespace DeepShrink.Sweep.Tests;

public class JobPoolTests
{
    [Fact]
    public void ResultsDoNotDependOnTheNumberOfWorkers()
    {
        var jobs = Enumerable.Range(0, 40).ToList();
        var one = new JobPool(1).Run<int, long>(jobs, _ => j => { Thread.Sleep(j % 3); return (long)j * j; });
        var used = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        var four = new JobPool(4).Run<int, long>(jobs, w => j => { used[w] = true; Thread.Sleep(j % 3); return (long)j * j; });
        Assert.Equal(one, four);
        Assert.True(used.Count > 1, "several workers ran jobs");
    }

    [Fact]
    public async Task AFailingJobFailsThePoolUnlessHandled()
    {
        var jobs = Enumerable.Range(0, 10).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => new JobPool(2).Run<int, int>(jobs, _ => j => j == 3 ? throw new InvalidOperationException("job 3") : j));
        Assert.Equal("job 3", e.Message);
        var done = new List<int>();
        var failed = new List<int>();
        await new JobPool(2).RunAsync<int, int>(jobs, _ => new Runner(j => j == 3 ? throw new InvalidOperationException("job 3") : j),
            (i, r) => done.Add(r), (i, ex) => { failed.Add(i); return true; });
        Assert.Equal(new[] { 3 }, failed);
        Assert.Equal(9, done.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobPool(0));
    }

    private sealed class Runner(Func<int, int> f) : IJobRunner<int, int>
    {
        public Task<int> RunAsync(int job, CancellationToken ct) => Task.FromResult(f(job));
    }

    [Fact]
    public void SensitivityOnSeveralWorkersEqualsTheSequentialCurves()
    {
        var data = SyntheticData.Blobs(200, 10, 1, 28, 28, seed: 5);
        var model = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(3));
        var batches = new DataLoader(data, new DataLoaderOptions { BatchSize = 100, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels)).ToList();
        double Eval(Module m) => Trainer.Evaluate(m, batches).Accuracy;
        var names = new[] { "fc1.weight", "fc2.weight", "fc3.weight" };
        var grid = new[] { 0.5, 0.9, 0.99 };
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var seq = SensitivityAnalysis.Run(model, names, () => Eval(model), grid);
        var par = SensitivityAnalysis.Run(model, names, Eval, new JobPool(3), () => ModelIO.Copy(model), grid);
        Assert.Equal(seq.Select(c => c.Parameter), par.Select(c => c.Parameter));
        for (int i = 0; i < seq.Count; i++) Assert.Equal(seq[i].Accuracies, par[i].Accuracies);
        Assert.True(seq.Any(c => c.Accuracies[^1] != c.BaselineAccuracy), "pruning 99% changes some accuracy");
        foreach (var (n, t) in model.StateDict()) Assert.Equal(before[n], t.ToArray());   // weights restored
        Assert.Throws<ArgumentException>(() => SensitivityAnalysis.Run(model, names, Eval, new JobPool(2), copy: null, grid));
    }
    [Fact]
    public void SensitivityCopiesAreTakenBeforeTheModelIsProbed()
    {
        // a copy taken lazily by a worker while worker 0 already probes (prunes) the model in place would start from
        // pruned weights; here each copy waits (up to 0.5 s) for worker 0's first probe, which made that race certain
        var data = SyntheticData.Blobs(200, 10, 1, 28, 28, seed: 5);
        var model = ModelZoo.Create("lenet-300-100", new ModelConfig(), new Rng(3));
        var batches = new DataLoader(data, new DataLoaderOptions { BatchSize = 100, Shuffle = false }).Epoch(0).Select(b => (b.Images, b.Labels)).ToList();
        var names = new[] { "fc1.weight", "fc2.weight", "fc3.weight" };
        var grid = new[] { 0.9, 0.99 };
        var seq = SensitivityAnalysis.Run(model, names, () => Trainer.Evaluate(model, batches).Accuracy, grid);
        using var probing = new ManualResetEventSlim();
        int calls = 0;
        double Eval(Module m)
        {
            if (ReferenceEquals(m, model) && Interlocked.Increment(ref calls) > 1) probing.Set(); // past the baseline
            return Trainer.Evaluate(m, batches).Accuracy;
        }
        Module Copy() { probing.Wait(500); return ModelIO.Copy(model); }
        var par = SensitivityAnalysis.Run(model, names, Eval, new JobPool(3), Copy, grid);
        for (int i = 0; i < seq.Count; i++) Assert.Equal(seq[i].Accuracies, par[i].Accuracies);
    }
}
