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
        if ((long)data.Count * _size > limitFloats) return this;
        var all = new float[(long)data.Count * _size];
        int done = 0;
        foreach (var b in new DataLoader(data, new DataLoaderOptions { BatchSize = batchSize, Shuffle = false }).Epoch(0))
        {
            Run(b.Images).ContiguousData().Span.CopyTo(all.AsSpan(done * _size, b.Count * _size));
            done += b.Count;
        }
        _cache = all;
        return this;
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
        var first = caches[missing[0]];
        if (missing.Any(i => !ReferenceEquals(caches[i]._teacher, first._teacher))) throw new ArgumentException("the caches belong to different teachers");
        first.TeacherBatches++;
        first._teacher.Eval();
        using var _ = Engine.NoGrad();
        var values = first._teacher.ForwardValues(images, missing.Select(i => caches[i]._value).Distinct().ToArray());
        foreach (int i in missing) result[i] = values[caches[i]._value];
        return result;
    }

    private Tensor Run(Tensor x)
    {
        TeacherBatches++;
        _teacher.Eval();
        using var _ = Engine.NoGrad();
        return _teacher.ForwardValues(x, [_value])[_value];
    }
}
