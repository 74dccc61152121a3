using System.Diagnostics;
using System.Globalization;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;
using DeepShrink.Nn.Optim;
using DeepShrink.Nn.Zoo;

namespace DeepShrink.Bench;

/// <summary>Time of one part of a training step, per step (lower quartile over the timed steps).</summary>
/// <param name="Name">Part, e.g. <c>conv1 fwd</c>, <c>conv1 bwd</c>, <c>loss fwd</c>, <c>sgd step</c>.</param>
/// <param name="WallUs">Wall-clock microseconds.</param>
/// <param name="CpuUs">Process CPU microseconds (all threads of this process; other processes' load is not counted).</param>
public sealed record ProfilePart(string Name, double WallUs, double CpuUs);

/// <summary>Per-op profile of a zoo model's training step and the whole-step numbers next to it.</summary>
/// <param name="Arch">Zoo architecture.</param>
/// <param name="Batch">Minibatch size.</param>
/// <param name="Threads">Kernel threads.</param>
/// <param name="Parts">Parts of a step in execution order (data, forward per layer, loss, backward per layer, optimiser).</param>
/// <param name="ProfiledWallUs">Lower-quartile wall time of a whole profiled step.</param>
/// <param name="ProfiledCpuUs">Lower-quartile process CPU time of a whole profiled step.</param>
/// <param name="StepWallUs">Lower-quartile wall time of a whole step run the ordinary way (<see cref="Tensor.Backward"/>).</param>
/// <param name="StepCpuUs">Lower-quartile process CPU time of that step.</param>
/// <param name="AllocatedBytesPerStep">Managed bytes allocated per ordinary step (all threads).</param>
/// <param name="Gen0PerStep">Gen-0 collections per ordinary step.</param>
/// <param name="Gen2PerStep">Gen-2 collections per ordinary step.</param>
/// <param name="GcPauseUsPerStep">Garbage-collection pause per ordinary step (microseconds, mean).</param>
public sealed record TrainingProfileResult(string Arch, int Batch, int Threads, IReadOnlyList<ProfilePart> Parts, double ProfiledWallUs, double ProfiledCpuUs,
    double StepWallUs, double StepCpuUs, double AllocatedBytesPerStep, double Gen0PerStep, double Gen2PerStep, double GcPauseUsPerStep)
{
    /// <summary>Training images per second of the ordinary step.</summary>
    public double ImagesPerSecond => Batch / (StepWallUs * 1e-6);
}

/// <summary>
/// Profiles the training step of a sequential zoo model op by op: the data loader's batch assembly,
/// each layer's forward, the loss, each layer's backward node, the storing of the parameters'
/// gradients and the optimiser step, each timed in wall and process CPU time.
/// </summary>
/// <remarks>
/// The profiled step runs each layer's forward by itself and times backward through the observer of
/// <see cref="Engine.Backward(Tensor, Tensor?, Action{Tensor})"/> (the same engine and kernels as an ordinary
/// step). The ordinary step (<see cref="Tensor.Backward"/>) is timed in alternation with it; the
/// difference of the two is the cost of profiling. Uses the documented training defaults
/// (<see cref="TrainingDefaults"/>: Nesterov SGD, weight decay, label smoothing) and real
/// Fashion-MNIST batches when installed, else seeded noise.
/// </remarks>
public static class TrainingProfile
{
    /// <summary>Profiles <paramref name="steps"/> steps (after 3 warm-up steps) of <paramref name="arch"/>.</summary>
    public static TrainingProfileResult Run(string arch, int steps = 40, int batch = 64, ulong seed = 1)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), "must be >= 1");
        var rng = new Rng(seed);
        var model = ModelZoo.Create(arch, new ModelConfig(), rng);
        model.Train();
        var d = TrainingDefaults.For(arch);
        var opt = new Sgd(model.NamedParameters(), d.Lr, d.Momentum, d.WeightDecay, nesterov: d.Momentum > 0);
        using var batches = Batches(batch, seed).GetEnumerator();
        var parts = new Dictionary<string, List<(double Wall, double Cpu)>>(StringComparer.Ordinal);
        var order = new List<string>();
        var stepWall = new List<double>(); var stepCpu = new List<double>();
        var profWall = new List<double>(); var profCpu = new List<double>();
        long bytes = 0; int gen0 = 0, gen2 = 0;
        var pause = TimeSpan.Zero;
        for (int s = -3; s < steps; s++)
        {
            bool timed = s >= 0;
            // ordinary step
            long b0 = GC.GetTotalAllocatedBytes(false); int g0 = GC.CollectionCount(0), g2 = GC.CollectionCount(2);
            var p0 = GC.GetTotalPauseDuration();
            var (w0, c0) = Now();
            batches.MoveNext();
            var (x, y) = batches.Current;
            var logits = model.Forward(x);
            var loss = Ops.CrossEntropy(logits, y, d.LabelSmoothing);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            var (w1, c1) = Now();
            if (timed)
            {
                stepWall.Add(w1 - w0); stepCpu.Add(c1 - c0);
                bytes += GC.GetTotalAllocatedBytes(false) - b0; gen0 += GC.CollectionCount(0) - g0; gen2 += GC.CollectionCount(2) - g2;
                pause += GC.GetTotalPauseDuration() - p0;
            }
            // profiled step
            var (pw0, pc0) = Now();
            ProfiledStep(model, opt, batches, d.LabelSmoothing, (name, w, c) =>
            {
                if (!timed) return;
                if (!parts.TryGetValue(name, out var list)) { parts[name] = list = new(); order.Add(name); }
                list.Add((w, c));
            });
            var (pw1, pc1) = Now();
            if (timed) { profWall.Add(pw1 - pw0); profCpu.Add(pc1 - pc0); }
        }
        var result = order.Select(n => new ProfilePart(n, Quartile(parts[n].Select(p => p.Wall)) * 1e6, Quartile(parts[n].Select(p => p.Cpu)) * 1e6)).ToList();
        return new TrainingProfileResult(arch, batch, Parallelism.Degree, result, Quartile(profWall) * 1e6, Quartile(profCpu) * 1e6,
            Quartile(stepWall) * 1e6, Quartile(stepCpu) * 1e6,
            (double)bytes / steps, (double)gen0 / steps, (double)gen2 / steps, pause.TotalMicroseconds / steps);
    }

    private static void ProfiledStep(GraphModule model, Optimizer opt, IEnumerator<(Tensor X, int[] Y)> batches, float smoothing,
        Action<string, double, double> record)
    {
        var t = Now();
        var step = new Dictionary<string, (double Wall, double Cpu)>(StringComparer.Ordinal);
        var order = new List<string>();
        void Lap(string name)
        {
            var n = Now();
            if (!step.TryGetValue(name, out var sum)) order.Add(name);
            step[name] = (sum.Wall + n.Wall - t.Wall, sum.Cpu + n.Cpu - t.Cpu);
            t = n;
        }
        batches.MoveNext();
        var (x, y) = batches.Current;
        Lap("data batch");
        opt.ZeroGrad();
        Lap("zero grad");
        var owner = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        var graph = model.Graph;
        var env = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [graph.Input] = x };
        foreach (var n in graph.Nodes)
        {
            var outs = GraphOps.Get(n.Op)(new GraphOpCall(n, n.Inputs.Select(v => env[v]).ToArray(), model.Layer(n.Name), true));
            env[n.Output] = outs[0];
            owner[outs[0]] = n.Name + " bwd";
            Lap(n.Name + " fwd");
        }
        var h = env[graph.Output];
        var loss = Ops.CrossEntropy(h, y, smoothing);
        owner[loss] = "loss bwd";
        Lap("loss fwd");
        // leaves: the parameters' gradients stored (kept or added); anything else inside a layer: "other bwd"
        Engine.Backward(loss, null, done => Lap(owner.TryGetValue(done, out var name) ? name : done.GradFn is null ? "param grads" : "other bwd"));
        opt.Step();
        Lap("optimizer step");
        foreach (var name in order) record(name, step[name].Wall, step[name].Cpu);
    }

    /// <summary>Real Fashion-MNIST training batches (shuffled, cycling over epochs) when installed, else seeded noise.</summary>
    private static IEnumerable<(Tensor X, int[] Y)> Batches(int batch, ulong seed)
    {
        if (!Directory.Exists(DatasetSpec.FashionMnistDirectory))
        {
            var rng = new Rng(seed);
            var x = Tensor.Randn(rng, 1f, batch, 1, 28, 28);
            var y = Enumerable.Range(0, batch).Select(_ => rng.NextInt(10)).ToArray();
            while (true) yield return (x, y);
        }
        var data = DatasetLoader.Load(DatasetSpec.Parse("fashion-mnist"), new DatasetLoadOptions { ValidationCount = 5000, ValidationSeed = seed });
        var loader = new DataLoader(data.Train, new DataLoaderOptions { BatchSize = batch, Seed = seed });
        for (int e = 0; ; e++)
            foreach (var b in loader.Epoch(e)) yield return (b.Images, b.Labels);
    }

    private static (double Wall, double Cpu) Now() => (Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency, BenchClocks.Now(BenchClock.ProcessCpu));

    /// <summary>Lower quartile: on a shared machine the slow tail is other processes' load, the fast quarter is the code.</summary>
    private static double Quartile(IEnumerable<double> values)
    {
        var a = values.ToArray();
        if (a.Length == 0) return 0;
        Array.Sort(a);
        return a[(a.Length - 1) / 4];
    }

    /// <summary>A fixed-width table of the profile (parts with their share of the summed parts).</summary>
    public static string Format(TrainingProfileResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        double sumWall = r.Parts.Sum(p => p.WallUs), sumCpu = r.Parts.Sum(p => p.CpuUs);
        sb.AppendLine(string.Format(inv, "{0} training step, batch {1}, {2} threads (per step, lower quartile over steps)", r.Arch, r.Batch, r.Threads));
        sb.AppendLine(string.Format(inv, "{0,-20} {1,10} {2,7} {3,10} {4,7}", "part", "wall us", "wall %", "cpu us", "cpu %"));
        foreach (var p in r.Parts)
            sb.AppendLine(string.Format(inv, "{0,-20} {1,10:F1} {2,6:F1}% {3,10:F1} {4,6:F1}%", p.Name, p.WallUs, 100 * p.WallUs / sumWall, p.CpuUs, 100 * p.CpuUs / sumCpu));
        sb.AppendLine(string.Format(inv, "{0,-20} {1,10:F1} {2,7} {3,10:F1}", "sum of parts", sumWall, "", sumCpu));
        sb.AppendLine(string.Format(inv, "{0,-20} {1,10:F1} {2,7} {3,10:F1}", "profiled step", r.ProfiledWallUs, "", r.ProfiledCpuUs));
        sb.AppendLine(string.Format(inv, "{0,-20} {1,10:F1} {2,7} {3,10:F1}", "ordinary step", r.StepWallUs, "", r.StepCpuUs));
        sb.AppendLine(string.Format(inv, "ordinary step: {0:N0} img/s, {1:N0} bytes allocated, {2:F2} gen-0 and {3:F2} gen-2 collections ({4:F0} us paused) per step",
            r.ImagesPerSecond, r.AllocatedBytesPerStep, r.Gen0PerStep, r.Gen2PerStep, r.GcPauseUsPerStep));
        return sb.ToString();
    }
}
