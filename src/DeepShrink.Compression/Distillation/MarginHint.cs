using DeepShrink.Core;
using DeepShrink.Data;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// The hint loss of Heo et al. (2019), "A comprehensive overhaul of feature distillation", for hints taken before the
/// teacher's ReLU: the teacher's value passes a margin ReLU, max(t, m_c) with m_c the mean of channel c's negative values
/// (the teacher's "how negative" is kept only on average, since the ReLU after it discards the detail), and the distance
/// is a partial L2 that leaves out the positions where the target is not positive and the student is already at or below
/// it (the ReLU would map both to zero). The student side is the regressor with batch normalisation
/// (<see cref="HintRegressor.Create"/> with <c>batchNorm</c>).
/// </summary>
/// <remarks>
/// The paper derives m_c from the teacher's batch-norm parameters (the expectation of a Gaussian's negative part); here it is
/// measured on the teacher's values for the first <see cref="SampleImages"/> training images, which needs no batch norm
/// in front of the hint layer and gives the same number when the values are Gaussian. A hint after a ReLU has no negative
/// values: its margins are 0 and the target is the hint itself.
/// </remarks>
public static class MarginHint
{
    /// <summary>Training images (in dataset order, not augmented; whole batches of 256) the margins are measured on.</summary>
    public const int SampleImages = 2048;

    /// <summary>Per-channel sums and counts of negative values of <paramref name="values"/> ([N, C, ...]), added to <paramref name="sum"/> and <paramref name="count"/>.</summary>
    public static void AccumulateNegatives(Tensor values, double[] sum, long[] count)
    {
        if (values.Rank < 2) throw new ArgumentException($"margins need [N, C, ...] values, got {ShapeUtil.Format(values.Shape)}");
        int c = values.Shape[1], inner = ShapeUtil.Numel(values.Shape.AsSpan(2));
        if (sum.Length != c || count.Length != c) throw new ArgumentException($"{c} channels but {sum.Length} sums");
        var s = values.ContiguousData().Span;
        for (int b = 0, ch = 0; b < s.Length; b += inner, ch = ch + 1 == c ? 0 : ch + 1)
        {
            double bs = 0; long bc = 0;
            foreach (float v in s.Slice(b, inner)) if (v < 0f) { bs += v; bc++; }
            sum[ch] += bs; count[ch] += bc;
        }
    }

    /// <summary>m_c = the mean of channel c's negative values ([N, C, ...]); 0 for a channel with none.</summary>
    public static float[] Margins(Tensor values)
    {
        int c = values.Rank < 2 ? throw new ArgumentException($"margins need [N, C, ...] values, got {ShapeUtil.Format(values.Shape)}") : values.Shape[1];
        var sum = new double[c]; var count = new long[c];
        AccumulateNegatives(values, sum, count);
        return Finish(sum, count);
    }

    /// <summary>
    /// The margins of each hint value of <paramref name="hints"/> ([C, ...] per sample) on the first
    /// <paramref name="maxImages"/> images of their (common) dataset, rounded up to whole batches of 256, in dataset order
    /// and not augmented: read from the caches that hold their values, the rest from one teacher run per batch for all of
    /// them (<see cref="TeacherCache.GetAll"/>).
    /// </summary>
    public static float[][] Margins(IReadOnlyList<TeacherCache> hints, int maxImages = SampleImages)
    {
        ArgumentNullException.ThrowIfNull(hints);
        if (hints.Count == 0) return [];
        var data = TeacherCache.CommonDataset(hints);
        var sums = hints.Select(h => new double[h.SampleShape[0]]).ToArray();
        var counts = hints.Select(h => new long[h.SampleShape[0]]).ToArray();
        int seen = 0;
        foreach (var b in new DataLoader(data, new DataLoaderOptions { BatchSize = 256, Shuffle = false }).Epoch(0))
        {
            if (seen >= maxImages) break;
            var values = TeacherCache.GetAll(hints, [.. Enumerable.Range(seen, b.Count)], b.Images);
            for (int i = 0; i < hints.Count; i++) AccumulateNegatives(values[i], sums[i], counts[i]);
            seen += b.Count;
        }
        return [.. sums.Select((s, i) => Finish(s, counts[i]))];
    }

    private static float[] Finish(double[] sum, long[] count)
        => [.. sum.Select((s, i) => count[i] == 0 ? 0f : (float)(s / count[i]))];

    /// <summary>The margin ReLU max(t, m_c) of the teacher's values [N, C, ...] (no gradient: a target).</summary>
    public static Tensor Target(Tensor teacher, float[] margins)
    {
        if (teacher.Rank < 2 || teacher.Shape[1] != margins.Length)
            throw new ArgumentException($"{margins.Length} margins for a value of shape {ShapeUtil.Format(teacher.Shape)}");
        int c = margins.Length, inner = ShapeUtil.Numel(teacher.Shape.AsSpan(2));
        var t = new Tensor(teacher.Shape);
        var src = teacher.ContiguousData().Span;
        var dst = t.Span;
        for (int b = 0, ch = 0; b < src.Length; b += inner, ch = ch + 1 == c ? 0 : ch + 1)
            System.Numerics.Tensors.TensorPrimitives.Max(src.Slice(b, inner), margins[ch], dst.Slice(b, inner));
        return t;
    }

    /// <summary>
    /// Partial L2: the mean over all elements of (s - t)^2, with the elements where t &lt;= 0 and s &lt;= t counted as 0
    /// (gradient 2 (s - t) / n elsewhere, 0 there).
    /// </summary>
    public static Tensor PartialL2(Tensor student, Tensor target)
    {
        if (!ShapeUtil.SameShape(student.Shape, target.Shape))
            throw new ArgumentException($"partial L2 shape mismatch: {ShapeUtil.Format(student.Shape)} vs {ShapeUtil.Format(target.Shape)}");
        var mask = new Tensor(student.Shape);
        var s = student.ContiguousData().Span;
        var t = target.ContiguousData().Span;
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++) m[i] = t[i] <= 0f && s[i] <= t[i] ? 0f : 1f;
        return Ops.Mean(Ops.Mul(Ops.Square(Ops.Sub(student, target)), mask));
    }
}
