using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Data;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Distillation;

/// <summary>
/// Teacher values for a dataset: computed once (eval mode, no gradient) and kept in memory when they fit
/// <paramref name="limitFloats"/>, otherwise recomputed for each batch. The teacher is never trained.
/// </summary>
public sealed class TeacherCache(GraphModule teacher, ImageDataset data, string value, int[] sampleShape, long limitFloats)
{
    private float[]? _cache;
    private readonly GraphModule _teacher = teacher;
    private readonly string _value = value;
    private readonly ImageDataset _data = data;
    private readonly long _limitFloats = limitFloats;
    private readonly int _size = ShapeUtil.Numel(sampleShape);

    /// <summary>Per-sample shape of the value.</summary>
    public int[] SampleShape { get; } = sampleShape;

    /// <summary>Whether the values are held in memory.</summary>
    public bool Cached => _cache is not null;

    /// <summary>Times the teacher has run a batch (for tests: caching runs it once per sample).</summary>
    public int TeacherBatches { get; private set; }

    /// <summary>Computes the cache when it fits (call once before training).</summary>
    public TeacherCache Fill(int batchSize = 256)
    {
        FillAll([this], batchSize);
        return this;
    }

    /// <summary>
    /// Fills every cache of <paramref name="caches"/> that fits its limit, from one pass of the teacher over the data
    /// (one teacher run per batch for all of them, not one pass each). All must belong to the same teacher and dataset.
    /// </summary>
    public static void FillAll(IReadOnlyList<TeacherCache> caches, int batchSize = 256)
    {
        var fit = caches.Where(c => c._cache is null && (long)c._data.Count * c._size <= c._limitFloats).Distinct().ToList();
        if (fit.Count == 0) return;
        var data = CommonDataset(fit);
        var all = fit.Select(c => new float[(long)data.Count * c._size]).ToArray();
        int done = 0;
        foreach (var b in new DataLoader(data, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false }).Epoch(0))
        {
            var outs = RunTeacher(fit, b.Images);
            for (int i = 0; i < fit.Count; i++)
                outs[fit[i]._value].ContiguousData().Span.CopyTo(all[i].AsSpan(done * fit[i]._size, b.Count * fit[i]._size));
            done += b.Count;
        }
        for (int i = 0; i < fit.Count; i++) fit[i]._cache = all[i];
    }

    /// <summary>The dataset all of <paramref name="caches"/> (at least one) belong to; <see cref="ArgumentException"/> when they differ.</summary>
    public static ImageDataset CommonDataset(IReadOnlyList<TeacherCache> caches)
    {
        var data = caches[0]._data;
        if (caches.Any(c => !ReferenceEquals(c._data, data))) throw new ArgumentException("the caches belong to different datasets");
        return data;
    }

    /// <summary>The teacher's values [B, ...] for the samples <paramref name="indices"/> whose images are <paramref name="images"/>.</summary>
    public Tensor Get(ReadOnlySpan<int> indices, Tensor images)
    {
        if (_cache is null) return Run(images);
        var t = new Tensor([indices.Length, .. SampleShape]);
        var d = t.Span;
        for (int i = 0; i < indices.Length; i++) _cache.AsSpan(indices[i] * _size, _size).CopyTo(d.Slice(i * _size, _size));
        return t;
    }

    /// <summary>
    /// The values of several caches of the same teacher for one batch; those not held in memory come from one teacher
    /// run for all of them (not one run each).
    /// </summary>
    public static Tensor[] GetAll(IReadOnlyList<TeacherCache> caches, ReadOnlySpan<int> indices, Tensor images)
    {
        var result = new Tensor[caches.Count];
        var missing = new List<int>();
        for (int i = 0; i < caches.Count; i++)
        {
            if (caches[i]._cache is not null) result[i] = caches[i].Get(indices, images);
            else missing.Add(i);
        }
        if (missing.Count == 0) return result;
        var values = RunTeacher([.. missing.Select(i => caches[i])], images);
        foreach (int i in missing) result[i] = values[caches[i]._value];
        return result;
    }

    private Tensor Run(Tensor x) => RunTeacher([this], x)[_value];

    // one eval-mode, no-gradient run of the caches' (common) teacher on a batch, for all their values at once
    private static Dictionary<string, Tensor> RunTeacher(IReadOnlyList<TeacherCache> caches, Tensor images)
    {
        var first = caches[0];
        if (caches.Any(c => !ReferenceEquals(c._teacher, first._teacher))) throw new ArgumentException("the caches belong to different teachers");
        first.TeacherBatches++;
        first._teacher.Eval();
        using var _ = Engine.NoGrad();
        return first._teacher.ForwardValues(images, [.. caches.Select(c => c._value).Distinct()]);
    }
}
