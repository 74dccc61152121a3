using System.Diagnostics;
using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Nn.Optim;

namespace DeepShrink.Nn.Training;

/// <summary>Result of one training epoch.</summary>
public sealed record EpochStats(int Epoch, float Loss, float TrainAccuracy, double Seconds, float LearningRate, long Images);

/// <summary>Result of an evaluation pass.</summary>
public sealed record EvalStats(float Accuracy, float Loss, int Count, double Seconds)
{
    /// <summary>Throughput of the pass.</summary>
    public double ImagesPerSecond => Seconds > 0 ? Count / Seconds : 0;
}

/// <summary>
/// Supervised training loop with callbacks. Batches come from a function of the epoch so that
/// shuffling is reproducible.
/// </summary>
public sealed class Trainer
{
    /// <summary>Loss of a batch: (logits, inputs, labels) -> scalar. Defaults to cross-entropy.</summary>
    public Func<Tensor, Tensor, int[], Tensor> Loss { get; init; } = (logits, _, y) => Ops.CrossEntropy(logits, y);
    /// <summary>Learning-rate schedule (multiplier of the optimiser's base rate).</summary>
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;
    /// <summary>Callbacks, called in order.</summary>
    public List<ITrainingCallback> Callbacks { get; } = new();
    /// <summary>Called after each epoch (for progress display).</summary>
    public Action<EpochStats>? OnEpoch { get; init; }
    /// <summary>Called after each batch with (batch index, batches per epoch or -1).</summary>
    public Action<int, int>? OnBatch { get; init; }

    /// <summary>Trains <paramref name="model"/> for <paramref name="epochs"/> epochs.</summary>
    public List<EpochStats> Fit(Module model, Optimizer optimizer, Func<int, IEnumerable<(Tensor X, int[] Y)>> batches, int epochs, int batchesPerEpoch = -1, int startEpoch = 0)
    {
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs));
        var ctx = new TrainingContext { Model = model, Optimizer = optimizer, BatchesPerEpoch = batchesPerEpoch };
        var history = new List<EpochStats>();
        for (int e = startEpoch; e < startEpoch + epochs; e++)
        {
            model.Train();
            ctx.Epoch = e; ctx.Batch = 0;
            foreach (var cb in Callbacks) cb.OnEpochBegin(ctx);
            var sw = Stopwatch.StartNew();
            double lossSum = 0; long seen = 0, correct = 0;
            int b = 0;
            foreach (var (x, y) in batches(e))
            {
                double progress = e + (batchesPerEpoch > 0 ? (double)b / batchesPerEpoch : 0);
                optimizer.LearningRate = optimizer.BaseLearningRate * Schedule.Factor(progress);
                ctx.Batch = b; ctx.Inputs = x; ctx.Labels = y;
                foreach (var cb in Callbacks) cb.OnBatchBegin(ctx);
                var logits = model.Forward(x);
                var loss = Loss(logits, x, y);
                foreach (var cb in Callbacks) loss = cb.BeforeBackward(ctx, loss);
                float lv = loss.Item();
                if (float.IsNaN(lv) || float.IsInfinity(lv))
                    throw new InvalidOperationException($"training diverged: loss is {lv} at epoch {e + 1}, batch {b + 1} (try a lower learning rate)");
                optimizer.ZeroGrad();
                loss.Backward();
                foreach (var cb in Callbacks) cb.BeforeOptimizerStep(ctx);
                optimizer.Step();
                foreach (var cb in Callbacks) cb.AfterOptimizerStep(ctx);
                ctx.LastLoss = lv;
                lossSum += lv * y.Length; seen += y.Length;
                if (logits.Rank == 2 && logits.Shape[1] > 1) correct += Ops.CountCorrect(logits, y);
                foreach (var cb in Callbacks) cb.OnBatchEnd(ctx);
                ctx.Step++; b++;
                OnBatch?.Invoke(b, batchesPerEpoch);
            }
            foreach (var cb in Callbacks) cb.OnEpochEnd(ctx);
            var st = new EpochStats(e, seen > 0 ? (float)(lossSum / seen) : 0f, seen > 0 ? (float)correct / seen : 0f, sw.Elapsed.TotalSeconds, optimizer.LearningRate, seen);
            history.Add(st);
            OnEpoch?.Invoke(st);
        }
        model.Eval();
        return history;
    }

    /// <summary>Accuracy and mean cross-entropy of a model on labelled batches (eval mode, no grad).</summary>
    public static EvalStats Evaluate(Module model, IEnumerable<(Tensor X, int[] Y)> batches)
    {
        bool was = model.Training;
        model.Eval();
        try
        {
            using var _ = Engine.NoGrad();
            return EvaluateLogits(batches.Select(b => (model.Forward(b.X), b.Y)));
        }
        finally { model.Train(was); }
    }

    /// <summary>Accuracy and loss from precomputed logits (used by other inference engines too).</summary>
    public static EvalStats EvaluateLogits(IEnumerable<(Tensor Logits, int[] Y)> batches)
    {
        var sw = Stopwatch.StartNew();
        double lossSum = 0; int n = 0, correct = 0;
        foreach (var (logits, y) in batches)
        {
            lossSum += Ops.CrossEntropy(logits, y).Item() * (double)y.Length;
            correct += Ops.CountCorrect(logits, y);
            n += y.Length;
        }
        return new EvalStats(n > 0 ? (float)correct / n : 0f, n > 0 ? (float)(lossSum / n) : 0f, n, sw.Elapsed.TotalSeconds);
    }
}
