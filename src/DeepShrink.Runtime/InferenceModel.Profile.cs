using System.Diagnostics;
using DeepShrink.Runtime.Execution;

namespace DeepShrink.Runtime;

public sealed partial class InferenceModel
{
    /// <summary>
    /// Runs a batch <paramref name="calls"/> times and times every step of the plan separately (median
    /// over the calls); the first call is a warm-up and is not counted. Every step runs with its work shared among the
    /// threads, as <see cref="Run(ReadOnlySpan{float}, int, Span{float})"/> runs batch 1 (Run shares larger batches out
    /// image by image, <see cref="RuntimeOptions.ImageParallel"/>).
    /// </summary>
    /// <param name="input">[batch, InputShape...]</param>
    /// <param name="batch">Samples per call.</param>
    /// <param name="calls">Timed calls, at least 1.</param>
    public IReadOnlyList<StepTiming> Profile(ReadOnlySpan<float> input, int batch, int calls = 5)
    {
        if (calls < 1) throw new ArgumentOutOfRangeException(nameof(calls), $"calls must be >= 1, got {calls}");
        var output = new float[(long)batch * OutputSize];
        Run(input, batch, output); // validates the sizes and warms up
        var steps = _plan.Steps;
        var times = new double[steps.Length][];
        for (int i = 0; i < steps.Length; i++) times[i] = new double[calls];
        for (int c = 0; c < calls; c++)
        {
            using var frame = new Frame(_plan.StorageCount, batch, ResolveThreads(_threads));
            input.CopyTo(frame.Get(_plan.InputStorage, input.Length));
            for (int i = 0; i < steps.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                steps[i].Run(frame);
                times[i][c] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                foreach (int s in _plan.ReleaseAfter[i]) frame.Release(s);
            }
        }
        return steps.Select((s, i) =>
        {
            Array.Sort(times[i]);
            return new StepTiming(s.Name, s.Op, s.Describe(), times[i][calls / 2]);
        }).ToArray();
    }
}
